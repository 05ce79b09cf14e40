"""Structural checks of the manifests `edgepipe deploy --k8s` writes, against what other tools
wrote: the plan (`edgepipe plan --format json`), the instance (`edgepipe plan --instance-out`:
each node's memory and speed) and the README's table of the controller's RBAC verbs. Prints
one line per failed check and exits 1 if any.

Usage: check_deploy.py DIR PLAN_JSON INSTANCE_JSON README NAMES NAME PORT [CORE_FLOPS]"""
import glob
import json
import math
import re
import sys

import yaml

d, plan_path, inst_path, readme, names, name, port = sys.argv[1:8]
core_flops = float(sys.argv[8]) if len(sys.argv) > 8 else 0
names = names.split(",")
port = int(port)
failed = []


def check(cond, what):
    if not cond:
        failed.append(what)


docs = []
for f in sorted(glob.glob(f"{d}/*.yaml")):
    docs += [x for x in yaml.safe_load_all(open(f)) if x]
by = {(x["kind"], x["metadata"]["name"]): x for x in docs}
n = len(names)
hosts = [f"{name}-host-{i}" for i in range(n)]
ctl = f"{name}-controller"
want = {("ConfigMap", f"{name}-config"), ("ServiceAccount", ctl), ("Role", ctl),
        ("RoleBinding", ctl), ("Deployment", ctl)}
want |= {(k, h) for h in hosts for k in ("Deployment", "Service")}
check(set(by) == want and len(docs) == len(want), f"objects: {sorted(by)} ({len(docs)})")

plan = json.load(open(plan_path))[0]
inst = json.load(open(inst_path))
stage_of = {s["node"]: str(k) for k, s in enumerate(plan["stages"])}


def bytes_of(q):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(q))
    return int(m.group(1)) * {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}[m.group(2)]


hashes = set()
for i, h in enumerate(hosts):
    dep, svc = by.get(("Deployment", h)), by.get(("Service", h))
    if not dep or not svc:
        continue
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    c = pod["containers"][0]
    check(spec["replicas"] == 1, f"{h}: replicas {spec['replicas']!r}")
    check(pod["nodeSelector"] == {"kubernetes.io/hostname": names[i]},
          f"{h}: nodeSelector {pod['nodeSelector']} for node {i} = {names[i]}")
    ann = spec["template"]["metadata"]["annotations"]
    # The plan's stage annotates the Deployment, not its pods (a new plan rolls no pod).
    dann = dep["metadata"].get("annotations", {})
    check(dann.get("edgepipe.io/plan-stage") == stage_of.get(i, "spare")
          and "edgepipe.io/plan-stage" not in ann,
          f"{h}: plan-stage {dann.get('edgepipe.io/plan-stage')!r}, plan: {stage_of.get(i)}")
    hashes.add(ann.get("edgepipe.io/config-hash"))
    check(c["args"] == ["stage", "--listen", f"0.0.0.0:{port}", "--name", names[i]],
          f"{h}: args {c['args']}")
    check(all(isinstance(a, str) for a in c["command"] + c["args"]), f"{h}: args not strings")
    r = c["resources"]
    check(r["requests"] == r["limits"], f"{h}: requests {r['requests']} != limits")
    mem = inst["nodes"][i]["mem_bytes"]
    check(bytes_of(r["limits"]["memory"]) == mem,
          f"{h}: memory {r['limits']['memory']}, node {i} has {mem} bytes")
    speed = inst["nodes"][i]["speed_flops"]
    cpu = f"{math.ceil(1000 * speed / core_flops)}m" if core_flops and speed else None
    check(r["limits"].get("cpu") == cpu, f"{h}: cpu {r['limits'].get('cpu')}, expected {cpu}")
    sel = spec["selector"]["matchLabels"]
    labels = spec["template"]["metadata"]["labels"]
    check(all(labels.get(k) == v for k, v in sel.items()), f"{h}: selector misses the pod")
    check(svc["spec"].get("clusterIP") == "None", f"{h}: Service not headless")
    check(svc["spec"]["selector"] == sel, f"{h}: Service selector {svc['spec']['selector']}")
    check([p["port"] for p in svc["spec"]["ports"]] == [port, port + 1, port + 2],
          f"{h}: Service ports {svc['spec']['ports']}")

# The controller: RBAC exactly the README's verbs, on the hosts' Deployments only.
m = re.search(r"<!-- deploy-rbac -->(.*?)<!-- /deploy-rbac -->", open(readme).read(), re.S)
verbs = re.findall(r"^\| `([a-z]+)` \|", m.group(1), re.M) if m else []
check(verbs, "README: no table of verbs between <!-- deploy-rbac --> markers")
role = by.get(("Role", ctl))
if role:
    check(role["rules"] == [{"apiGroups": ["apps"], "resources": ["deployments"],
                             "resourceNames": hosts, "verbs": verbs}],
          f"Role rules {role['rules']}, README verbs {verbs}")
rb = by.get(("RoleBinding", ctl))
if rb:
    check(rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ctl}
          and [s["name"] for s in rb["subjects"]] == [ctl], "RoleBinding")
cd = by.get(("Deployment", ctl))
if cd:
    pod = cd["spec"]["template"]["spec"]
    hashes.add(cd["spec"]["template"]["metadata"]["annotations"].get("edgepipe.io/config-hash"))
    check(pod["serviceAccountName"] == ctl, "controller: serviceAccountName")
    a = pod["containers"][0]["args"]
    check(a[:2] == ["dispatch", "--hosts"], f"controller args {a[:2]}")
    check(a[3:7] == ["--listen", a[4], "--plan", "/config/plan.json"],
          f"controller runs the ConfigMap's plan: {a[3:7]}")
    check(a[2] == ",".join(f"{names[i]}={hosts[i]}:{port}" for i in range(n)),
          f"controller --hosts {a[2]}")
    check(all(isinstance(x, str) for x in a), "controller args not strings")
    w = pod["initContainers"][0]["command"]
    check(w[4:] == [f"deployment/{h}" for h in hosts], f"wait-for-hosts waits for {w[4:]}")
check(len(hashes) == 1 and None not in hashes, f"config hashes {hashes}")

cm = by.get(("ConfigMap", f"{name}-config"))
if cm:
    p = json.loads(cm["data"]["plan.json"])
    check([(s["node"], s["first_cut"], s["end_cut"]) for s in p["stages"]] ==
          [(s["node"], s["first_cut"], s["end_cut"]) for s in plan["stages"]],
          "ConfigMap plan.json stages differ from the plan")
    check(p["nodes"] == names, f"plan.json nodes {p['nodes']}")
    check([s["node_name"] for s in p["stages"]] == [names[s["node"]] for s in plan["stages"]],
          "plan.json node names")
    if cd:
        check(cm["data"]["args"].split("\n")[:-1] == cd["spec"]["template"]["spec"]
              ["containers"][0]["args"][7:], "ConfigMap args differ from the controller's")
for f in failed:
    print("deploy manifest:", f)
sys.exit(1 if failed else 0)
