# tests/lab/lab-common.sh - what the test labs (ocserv-lab.sh,
# openvpn-lab.sh) share: waiting, the bookkeeping of the processes a lab
# starts (ended only by PID, and only while the PID is still the process
# the lab started: its start time is recorded with it), and the address
# slots that let several labs run at once.  Sourced by the labs; every name
# starts with lab_.

# lab_wait SECONDS CMD...: run CMD (quietly) until it succeeds, or fail
# after SECONDS
lab_wait() {
	local secs=$1 end; shift
	end=$(( $(date +%s%N) + secs * 1000000000 ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

lab_starttime() {  # field 22 of /proc/PID/stat
	local s
	read -r s 2>/dev/null <"/proc/$1/stat" || return 1
	s=${s##*) }
	set -- $s
	echo "${20}"
}

lab_pid_alive() {  # PID exists and is not a zombie
	local s
	[ -n "${1:-}" ] || return 1
	read -r s 2>/dev/null <"/proc/$1/stat" || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

lab_not_alive() { ! lab_pid_alive "$1"; }

# lab_track DIR NAME PID: remember PID (and its start time) in DIR/pids/NAME.pid
lab_track() {
	local st
	st=$(lab_starttime "$3") || st=0
	echo "$3 $st" >"$1/pids/$2.pid"
}

# lab_tracked_pid FILE: the PID in FILE if it is still the same process
lab_tracked_pid() {
	local pid st now
	[ -s "$1" ] || return 1
	read -r pid st <"$1" || true
	[ -n "$pid" ] || return 1
	now=$(lab_starttime "$pid") || return 1
	[ "$st" = 0 ] || [ "$now" = "$st" ] || return 1
	lab_pid_alive "$pid" || return 1
	echo "$pid"
}

# lab_descendants PID: all descendants of PID (one pass over /proc)
lab_descendants() {
	awk -v root="$1" '
		FNR == 1 {
			pid = FILENAME; sub("^/proc/", "", pid); sub("/stat$", "", pid)
			s = $0; sub(/.*\) /, "", s); split(s, f, " ")
			parent[pid] = f[2]
		}
		END {
			want[root] = 1
			do {
				more = 0
				for (p in parent)
					if ((parent[p] in want) && !(p in want)) { want[p] = 1; more = 1 }
			} while (more)
			for (p in want) if (p != root) print p
		}' /proc/[0-9]*/stat 2>/dev/null
}

# lab_kill_wait MS PID...: SIGTERM, wait up to MS milliseconds, then SIGKILL.
lab_kill_wait() {
	local ms=$1 p end; shift
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null
	end=$(( $(date +%s%N) + ms * 1000000 ))
	for p in "$@"; do
		while lab_pid_alive "$p" && [ "$(date +%s%N)" -lt "$end" ]; do
			sleep 0.05
		done
		if lab_pid_alive "$p"; then kill -KILL "$p" 2>/dev/null; fi
	done
}

# lab_is_comm_file FILE COMM: the PID in FILE is a process named COMM
lab_is_comm_file() {
	local pid
	[ -s "$1" ] || return 1
	read -r pid <"$1"
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

# --- address slots ------------------------------------------------------------
# Slot K (0-15) of the host link 198.51.100.0/24 and 2001:db8:100::/48: slot
# 0 is the whole /24 and 2001:db8:100::/64, slot K a /28 and
# 2001:db8:100:K::/64 (on the host the more specific /28 wins over slot 0's
# /24).  Host .1, server .2, clients .11-.14 (+16K).  Every lab of either
# kind takes one slot, so any mix of labs can be up at once.

# lab_slot_addrs PREFIX K: export PREFIX_LINK4/6 (the link's prefixes),
# PREFIX_HOST4/6 (the host bridge) and PREFIX_SERVER_IP4/6 of slot K
lab_slot_addrs() {
	local p=$1 k=$2 base=$((16 * $2)) v6=2001:db8:100:: link4=198.51.100.0/24
	[ "$k" = 0 ] || { v6=2001:db8:100:$(printf %x "$k")::; link4=198.51.100.$base/28; }
	declare -gx "${p}_LINK4=$link4" "${p}_LINK6=${v6}/64" \
		"${p}_HOST4=198.51.100.$((base + 1))" "${p}_HOST6=${v6}1" \
		"${p}_SERVER_IP4=198.51.100.$((base + 2))" "${p}_SERVER_IP6=${v6}2"
}

# lab_claim_slot PREFIX DIR [K...]: claim the first free slot of K... (default
# all) for the lab in DIR - a symlink /tmp/vpl-slot-K to DIR, which a gone
# lab's leaves stale - with its addresses exported (lab_slot_addrs) and not
# in use on the host; prints K
lab_claim_slot() {
	local p=$1 dir=$2 k link t host; shift 2
	for k in ${*:-0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15}; do
		link=/tmp/vpl-slot-$k
		if [ -L "$link" ]; then
			t=$(readlink "$link")
			[ -d "$t" ] && continue
			rm -f "$link"
		fi
		lab_slot_addrs "$p" "$k"
		host=${p}_HOST4
		ip -4 -o addr show | grep -qF " ${!host}/" && continue
		ln -s "$dir" "$link" 2>/dev/null || continue
		echo "$k"
		return 0
	done
	return 1
}
