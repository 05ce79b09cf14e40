#!/bin/bash
# A long stall through the simulator and the emulator (issue 11): both declare the same node dead
# at the same time, within what the emulator's heartbeat phase allows, find no plan without it
# (mobilenet needs its three 30 MiB nodes), wait for it, and re-plan when it heartbeats again, with
# every request answered.
#
# Expected values: the simulator's times are derived below (sim_pipeline.h, "Detection"); the
# emulator's heartbeats (period P = 0.1 s, timeout T = 0.5 s, its defaults, given to both) start
# at a phase of their own, and its check runs every P / 2, so it declares the node between
# T - P and T + P / 2 after the stall: within 0.15 s (P plus 50 ms for applying the fault under
# load) of the simulator's. Needs root and network namespaces (77 otherwise); takes the emulator
# tests' lock.
#
# Usage: bash sim_emu_stall.sh PATH_TO_EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup sim_emu_stall.sh "$@"

if [ "$(id -u)" -ne 0 ] || ! ip netns add edgepipe-stalltest 2>/dev/null; then
	echo "skipped: needs root and network namespaces"
	exit 77
fi
ip netns del edgepipe-stalltest
if exec 9>>/run/lock/edgepipe-emu-tests.lock 2>/dev/null; then
	flock 9
fi

ARGS=(--model mobilenet --nodes 3 --mem 30MiB --cluster uniform --bw-range 100Mbit:200Mbit
	--seed 1 --requests 80 --heartbeat 100ms --heartbeat-timeout 500ms
	--fault 'stall stage1 at 1.02s for 1.5s' --format json)
"$EP" sim "${ARGS[@]}" >"$TMP/sim.json" 2>"$TMP/sim.err" ||
	fail "sim runs" "$(cat "$TMP/sim.err")"
"$EP" emu "${ARGS[@]}" --state-dir "$TMP/state" >"$TMP/emu.json" 2>"$TMP/emu.err" ||
	fail "emu runs" "$(tail -5 "$TMP/emu.err")"

cat >"$TMP/check.py" <<'EOF'
import json, sys
t = sys.argv[1]
def load(n):
    try:
        return json.load(open(f"{t}/{n}.json"))
    except Exception as e:
        print(f"FAIL {n}.json parses: {e}")
        return None
s, e = load("sim"), load("emu")
if s is None or e is None:
    sys.exit(0)
def check(what, ok, detail=""):
    print(("ok " if ok else "FAIL ") + what + ("" if ok else f": {detail}"))
stalled = s["plan"][1]["node"]
inc = [i for i in s["incidents"] if i["kind"] == "stall"]
check("sim: one stall incident", len(inc) == 1, s["incidents"])
f = e["faults"][0] if e["faults"] else {}
check("emu: the stall detected", f.get("detection_s", -1) > 0, f)
if len(inc) != 1 or f.get("detection_s", -1) <= 0:
    sys.exit(0)
i = inc[0]
# The simulator: the last heartbeat at 1.0 s, declared at 1.0 + 0.5 = 1.5 s (0.48 s after the
# stall); no plan on the two other nodes; the node heartbeats again at the stall's end, 2.52 s,
# and the re-plan (the same plan: its nodes keep their weights) goes live then: recovery 1.5 s.
check("sim: the stage's node", i["node"] == stalled, i)
check("sim: detection 0.48 s", abs(i["detection_s"] - 0.48) < 1e-9, i["detection_s"])
check("sim: back at 2.52 s", abs(i["back_s"] - 2.52) < 1e-9, i["back_s"])
check("sim: recovery 1.5 s", abs(i["recovery_s"] - 1.5) < 1e-9, i["recovery_s"])
check("sim: every request answered", s["completed"] == 80 and s["incomplete"] == 0, s["completed"])
check("emu: the same node", f["node"] == stalled, f)
check("emu: detection within 0.15 s of the sim's",
      abs(f["detection_s"] - i["detection_s"]) <= 0.15, (f["detection_s"], i["detection_s"]))
# The emulator also waits for the node (no plan without it): live after the stall's end.
check("emu: live after the node is back", f["live_s"] >= f["end_s"] - 1e-3, f)
check("emu: every request answered", e["answered"] == 80 and e["incomplete"] == 0, e["answered"])
# Both send again what was in the torn-down deployment: a closed loop's whole window, when the
# two windows are the same (4 here, each back end's "window").
check("the same window", s["window"] == e["window"], (s["window"], e["window"]))
check("resent: the window", i["resent"] == f["resent"] == s["window"], (i["resent"], f["resent"]))
print(f"note: detection sim {i['detection_s']:.3f} s, emu {f['detection_s']:.3f} s; recovery "
      f"sim {i['recovery_s']:.3f} s, emu {f['recovery_s']:.3f} s; resent sim {i['resent']}, "
      f"emu {f['resent']}")
EOF
while IFS= read -r line; do
	case $line in
	ok*) pass "${line#ok }" ;;
	note*) echo "$line" ;;
	*) fail "${line#FAIL }" ;;
	esac
done < <(python3 "$TMP/check.py" "$TMP")
finish
