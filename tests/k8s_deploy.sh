#!/usr/bin/env bash
# `edgepipe deploy --k8s`, checked without a cluster: the manifests lint (yamllint with
# experiments/cluster/.yamllint), pass `kubectl create --dry-run=client` against the
# discovery-only stand-in server (tests/k8s/discovery_stub.py), and agree with what other
# commands wrote (tests/k8s/check_deploy.py): one Deployment per node pinned to it, the plan's
# stages on the nodes `edgepipe plan` chose, memory from the instance `plan --instance-out`
# wrote, the CPU limit speed / core FLOP/s by hand, the controller's RBAC verbs exactly the
# README's list. A model file goes into the ConfigMap byte for byte. Bad input exits 2 and
# writes nothing. Exits 77 without yamllint, kubectl or Python's yaml.
# Usage: k8s_deploy.sh EDGEPIPE
set -u
source "$(dirname "$0")/cli_lib.sh"
setup k8s_deploy.sh "$@"
here=$(cd "$(dirname "$0")/.." && pwd)
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
command -v yamllint >/dev/null || { echo "skipped: no yamllint"; exit 77; }
command -v kubectl >/dev/null || { echo "skipped: no kubectl"; exit 77; }
"$py" -c "import yaml" 2>/dev/null || { echo "skipped: no Python yaml"; exit 77; }

"$py" "$here/tests/k8s/discovery_stub.py" >"$TMP/port" 2>/dev/null &
at_exit "kill $! 2>/dev/null"
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
dry_run() {
	kubectl create --dry-run=client --validate=false -s "http://127.0.0.1:$(cat "$TMP/port")" \
		-f "$1" -o name 2>&1 | LC_ALL=C sort | tr '\n' ' '
}

# Five nodes of three memory sizes, 2 GFLOP/s each; a device core does 1.5 GFLOP/s, so the
# CPU limit is 2 / 1.5 = 1.333 cores: 1334m rounded up.
names=pi-0,pi-1,pi-2,pi-3.lan,pi-4
inst=(--model mobilenetv2 --mem 64MiB,96MiB,48MiB --nodes 5 --speed 2GFLOPS --seed 3)
"$EP" plan "${inst[@]}" --format json --instance-out "$TMP/inst.json" >"$TMP/plan.json" ||
	fail "edgepipe plan"
if "$EP" deploy --k8s -o "$TMP/man" --node-names "$names" "${inst[@]}" --core-flops 1.5GFLOPS \
	--name ep --port 20000 -- --requests 50 --compute real >"$TMP/log" 2>&1; then
	pass "deploy --k8s wrote $(cd "$TMP/man" && echo *)"
else
	fail "deploy --k8s" "$(cat "$TMP/log")"
fi
yamllint -s -c "$here/experiments/cluster/.yamllint" "$TMP"/man/*.yaml >"$TMP/lint" 2>&1 &&
	pass "yamllint" || fail "yamllint" "$(head -5 "$TMP/lint")"
want="configmap/ep-config deployment.apps/ep-controller"
for i in 0 1 2 3 4; do want+=" deployment.apps/ep-host-$i"; done
want+=" role.rbac.authorization.k8s.io/ep-controller"
want+=" rolebinding.rbac.authorization.k8s.io/ep-controller"
for i in 0 1 2 3 4; do want+=" service/ep-host-$i"; done
want+=" serviceaccount/ep-controller"
got=$(dry_run "$TMP/man")
[ "$got" = "$want " ] && pass "kubectl create --dry-run=client: 15 objects" ||
	fail "kubectl dry run" "got:  $got" "want: $want"
"$py" "$here/tests/k8s/check_deploy.py" "$TMP/man" "$TMP/plan.json" "$TMP/inst.json" \
	"$here/README.md" "$names" ep 20000 1.5e9 >"$TMP/check" 2>&1 &&
	pass "stages on the plan's nodes, limits, Services, RBAC = README's verbs" ||
	fail "manifest structure" "$(cat "$TMP/check")"

# The checks can fail: a stage host moved to another node, a verb more, a memory limit off.
mkdir -p "$TMP/bad1" "$TMP/bad2" "$TMP/bad3"
cp "$TMP"/man/*.yaml "$TMP/bad1"
cp "$TMP"/man/*.yaml "$TMP/bad2"
cp "$TMP"/man/*.yaml "$TMP/bad3"
sed -i '0,/kubernetes.io\/hostname: pi-0/s//kubernetes.io\/hostname: pi-1/' "$TMP/bad1/stages.yaml"
sed -i 's/^  - watch$/  - watch\n  - patch/' "$TMP/bad2/controller.yaml"
sed -i '0,/memory: 64Mi/s//memory: 65Mi/' "$TMP/bad3/stages.yaml"
for b in bad1 bad2 bad3; do
	if cmp -s "$TMP/$b/stages.yaml" "$TMP/man/stages.yaml" &&
		cmp -s "$TMP/$b/controller.yaml" "$TMP/man/controller.yaml"; then
		fail "$b: the edit did not apply"
	elif "$py" "$here/tests/k8s/check_deploy.py" "$TMP/$b" "$TMP/plan.json" "$TMP/inst.json" \
		"$here/README.md" "$names" ep 20000 1.5e9 >"$TMP/check" 2>&1; then
		fail "$b: a broken manifest passed the check"
	else
		pass "$b is caught: $(head -1 "$TMP/check")"
	fi
done

# The plan file of 'edgepipe plan' is accepted when it is the options' plan; a model file
# travels in the ConfigMap, byte for byte, and the dispatcher names it at /config.
"$EP" model export mobilenetv2 -o "$TMP/m.model" >/dev/null 2>&1 ||
	"$EP" model export mobilenetv2 >"$TMP/m.model" 2>/dev/null
"$EP" plan --model "$TMP/m.model" --mem 64MiB --nodes 3 --format json >"$TMP/mplan.json"
if "$EP" deploy --k8s -o "$TMP/mout" --node-names a,b,c --model "$TMP/m.model" --mem 64MiB \
	--nodes 3 --plan "$TMP/mplan.json" >"$TMP/log" 2>&1; then
	"$py" - "$TMP/mout/config.yaml" "$TMP/m.model" "$TMP/mout/controller.yaml" >"$TMP/check" 2>&1 <<'EOF'
import base64, sys, yaml
cm = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d)
# Lines over 90 characters go as base64 (binaryData), short ones as text (data).
text = cm.get("data", {}).get("model.model")
if text is None:
    text = base64.b64decode(cm.get("binaryData", {}).get("model.model", "")).decode()
ctl = [d for d in yaml.safe_load_all(open(sys.argv[3])) if d][-1]
args = ctl["spec"]["template"]["spec"]["containers"][0]["args"]
ok = text == open(sys.argv[2]).read()
ok = ok and args[args.index("--model") + 1] == "/config/model.model"
print("model file in ConfigMap and args:", ok)
sys.exit(0 if ok else 1)
EOF
	[ $? -eq 0 ] && pass "a model file rides in the ConfigMap; --plan of 'edgepipe plan' taken" ||
		fail "model file" "$(cat "$TMP/check")"
	yamllint -s -c "$here/experiments/cluster/.yamllint" "$TMP"/mout/*.yaml >"$TMP/lint" 2>&1 &&
		pass "yamllint with a model file" || fail "yamllint with a model file" "$(head -5 "$TMP/lint")"
	got=$(dry_run "$TMP/mout")
	[ "$(echo "$got" | wc -w)" -eq 11 ] && [ "${got#configmap/edgepipe-config }" != "$got" ] &&
		pass "kubectl create --dry-run=client with a model file: 11 objects" ||
		fail "kubectl dry run with a model file" "$got"
else
	fail "deploy with a model file and --plan" "$(cat "$TMP/log")"
fi

# A new model version goes through the ConfigMap alone: the manifests of another model file
# (MobileNet's export, same key) differ from the first in the ConfigMap's model.model and
# plan.json only; every pod template is the same (kubectl apply rolls no pod: the running
# dispatcher, watching /config/model.model, rolls the new model out, emu_remote.h), while a
# change of the dispatcher's arguments changes the pods' config-hash (their restart).
"$EP" model export mobilenet -o "$TMP/m2.model" >/dev/null 2>&1
if "$EP" deploy --k8s -o "$TMP/mout1" --node-names a,b,c --model "$TMP/m.model" --mem 64MiB \
	--nodes 3 >"$TMP/log" 2>&1 &&
	"$EP" deploy --k8s -o "$TMP/mout2" --node-names a,b,c --model "$TMP/m2.model" --mem 64MiB \
	--nodes 3 >>"$TMP/log" 2>&1 &&
	"$EP" deploy --k8s -o "$TMP/mout3" --node-names a,b,c --model "$TMP/m.model" --mem 64MiB \
	--nodes 3 -- --requests 7 >>"$TMP/log" 2>&1; then
	"$py" - "$TMP/mout1" "$TMP/mout2" "$TMP/mout3" >"$TMP/check" 2>&1 <<'EOF3'
import sys, yaml
def load(d):
    docs = []
    for f in ("config.yaml", "stages.yaml", "controller.yaml"):
        docs += [x for x in yaml.safe_load_all(open(f"{d}/{f}")) if x]
    return {(x["kind"], x["metadata"]["name"]): x for x in docs}
a, b, c = (load(d) for d in sys.argv[1:4])
cm = ("ConfigMap", "edgepipe-config")
tpl = lambda m: {k: v["spec"]["template"] for k, v in m.items() if k[0] == "Deployment"}
changed = sorted(k for k in a[cm]["data"] if a[cm]["data"][k] != b[cm]["data"].get(k))
bin_changed = a[cm].get("binaryData") != b[cm].get("binaryData")
ok = tpl(a) == tpl(b) and len(tpl(a)) == 4
print("pod templates equal for another model:", ok)
want = {"plan.json"} | ({"model.model"} if "model.model" in a[cm]["data"] else set())
ok2 = set(changed) == want and (bin_changed or "model.model" in want)
print("ConfigMap keys changed:", changed, "binaryData changed:", bin_changed, ok2)
hashes = lambda m: {v["metadata"]["annotations"]["edgepipe.io/config-hash"]
                    for v in tpl(m).values()}
ok3 = len(hashes(a)) == 1 and len(hashes(c)) == 1 and hashes(a) != hashes(c)
print("other dispatcher arguments change the pods' hash:", hashes(a), hashes(c), ok3)
sys.exit(0 if ok and ok2 and ok3 else 1)
EOF3
	[ $? -eq 0 ] && pass "a new model version changes the ConfigMap only (no pod template)" ||
		fail "model roll-out through the ConfigMap" "$(cat "$TMP/check")"
else
	fail "deploy with another model file" "$(cat "$TMP/log")"
fi

# A model file given twice is one file in the ConfigMap (the last --model, as the instance
# takes it): it was copied in twice under one key, which yamllint refuses as a duplicate key;
# and with a --cluster-file as well the deploy failed naming --cluster-file "given twice".
printf '0,50,80\n40,0,60\n70,90,0\n' >"$TMP/bw2.csv"
if "$EP" deploy --k8s -o "$TMP/twice" --node-names a,b,c --model "$TMP/m.model" \
	--model "$TMP/m.model" --cluster file --cluster-file "$TMP/bw2.csv" --mem 64MiB \
	>"$TMP/log" 2>&1; then
	n=$(grep -c '^  model.model: ' "$TMP/twice/config.yaml")
	[ "$n" -eq 1 ] && yamllint -s -c "$here/experiments/cluster/.yamllint" \
		"$TMP"/twice/*.yaml >"$TMP/lint" 2>&1 &&
		pass "a model file given twice: one ConfigMap key, yamllint clean" ||
		fail "a model file given twice" "$n model.model keys" "$(head -5 "$TMP/lint")"
else
	fail "a model file given twice, and a cluster file" "$(cat "$TMP/log")"
fi

# A measured bandwidth matrix (--cluster file, a hand-written 3 x 3 in Mbit/s) travels in the
# ConfigMap; the dispatcher reads it at /config/cluster.csv; the node count is the file's.
printf '0,50,80\n40,0,60\n70,90,0\n' >"$TMP/bw.csv"
if "$EP" deploy --k8s -o "$TMP/cout" --node-names x,y,z --model mobilenetv2 --mem 64MiB \
	--cluster file --cluster-file "$TMP/bw.csv" >"$TMP/log" 2>&1; then
	"$py" - "$TMP/cout" "$TMP/bw.csv" >"$TMP/check" 2>&1 <<'EOF2'
import sys, yaml
cm = next(d for d in yaml.safe_load_all(open(sys.argv[1] + "/config.yaml")) if d)
ctl = [d for d in yaml.safe_load_all(open(sys.argv[1] + "/controller.yaml")) if d][-1]
args = ctl["spec"]["template"]["spec"]["containers"][0]["args"]
ok = cm["data"].get("cluster.csv") == open(sys.argv[2]).read()
ok = ok and args[args.index("--cluster-file") + 1] == "/config/cluster.csv"
print("cluster file in ConfigMap and args:", ok, args)
sys.exit(0 if ok else 1)
EOF2
	[ $? -eq 0 ] && pass "--cluster file: the matrix rides in the ConfigMap" ||
		fail "cluster file" "$(cat "$TMP/check")"
else
	fail "deploy with --cluster file" "$(cat "$TMP/log")"
fi
expect_exit2 "4 names for a 3-node bandwidth file" "4 node name(s) for a cluster of 3" \
	"$EP" deploy --k8s -o "$TMP/bad" --node-names w,x,y,z --model mobilenetv2 --mem 64MiB \
	--cluster file --cluster-file "$TMP/bw.csv"

# Bad input: exit 2, the value named, nothing written (no DIR, no DIR.tmp-*).
ok_args=(--k8s --node-names a,b,c --model mobilenetv2 --mem 64MiB --nodes 3)
nothing_written() {
	if [ -e "$TMP/bad" ] || compgen -G "$TMP/bad.tmp-*" >/dev/null; then
		fail "$1: something was written" "$(ls -d "$TMP"/bad*)"
	fi
}
"$py" -c "
import json; p = json.load(open('$TMP/plan.json')); p[0]['stages'][0]['node'] = 7
json.dump(p, open('$TMP/node7.json', 'w'))"
expect_exit2 "a plan's node 7 of 3 named nodes" "node 7" \
	"$EP" deploy -o "$TMP/bad" "${ok_args[@]}" --plan "$TMP/node7.json"
nothing_written "node 7"
# A valid plan, but not the one the options make: stage 0 moved to another node.
"$EP" plan --model mobilenetv2 --mem 64MiB --nodes 3 --format json >"$TMP/p3.json"
"$py" -c "
import json; p = json.load(open('$TMP/p3.json')); s = p[0]['stages']
s[0]['node'] = ({0, 1, 2} - {t['node'] for t in s}).pop()
json.dump(p, open('$TMP/other.json', 'w'))"
expect_exit2 "a plan that the options do not make" "stage 0 is on another node or cut" \
	"$EP" deploy -o "$TMP/bad" "${ok_args[@]}" --plan "$TMP/other.json"
nothing_written "other plan"
echo '[{"algo": "seifer", "stages": [{"node": "x"}]}]' >"$TMP/garbage.json"
expect_exit2 "a plan file's stage without integers" "stage 0" \
	"$EP" deploy -o "$TMP/bad" "${ok_args[@]}" --plan "$TMP/garbage.json"
expect_exit2 "too few node names" "2 node name(s) for a cluster of 3" \
	"$EP" deploy --k8s -o "$TMP/bad" --node-names a,b --model mobilenetv2 --mem 64MiB --nodes 3
expect_exit2 "a node name that Kubernetes refuses" "'Pi_1'" \
	"$EP" deploy --k8s -o "$TMP/bad" --node-names a,Pi_1,c --model mobilenetv2 --mem 64MiB --nodes 3
expect_exit2 "a node name twice" "'a' given twice" \
	"$EP" deploy --k8s -o "$TMP/bad" --node-names a,b,a --model mobilenetv2 --mem 64MiB --nodes 3
expect_exit2 "no plan fits" "no plan" \
	"$EP" deploy --k8s -o "$TMP/bad" --node-names a,b,c --model resnet50 --mem 1MiB --nodes 3
expect_exit2 "an existing directory" "'$TMP/man' exists" \
	"$EP" deploy -o "$TMP/man" "${ok_args[@]}"
nothing_written "bad input"
[ "$(ls "$TMP/man")" = "$(printf 'config.yaml\ncontroller.yaml\nstages.yaml')" ] &&
	pass "the existing directory is untouched" || fail "the existing directory changed"
expect_exit2 "no --k8s" "--k8s" "$EP" deploy -o "$TMP/bad" --node-names a,b,c --model mobilenetv2 --mem 64MiB --nodes 3
finish
