"""The pods of `edgepipe deploy --k8s` as local commands: writes the ConfigMap's files into
OUT/config/ (data as text, binaryData decoded) and each container's arguments, one per line,
into OUT/host-<i>.args (the stage hosts, in node order) and OUT/controller.args (the
dispatcher), as Kubernetes would run them (command + args). tests/k8s_deploy.sh runs them on
loopback addresses. Usage: deploy_commands.py DIR OUT"""
import base64
import glob
import os
import sys

import yaml

d, out = sys.argv[1:3]
docs = []
for f in sorted(glob.glob(f"{d}/*.yaml")):
    docs += [x for x in yaml.safe_load_all(open(f)) if x]
os.makedirs(f"{out}/config", exist_ok=True)
for x in docs:
    if x["kind"] == "ConfigMap":
        for k, v in (x.get("data") or {}).items():
            open(f"{out}/config/{k}", "w").write(v)
        for k, v in (x.get("binaryData") or {}).items():
            open(f"{out}/config/{k}", "wb").write(base64.b64decode(v))
    if x["kind"] != "Deployment":
        continue
    c = x["spec"]["template"]["spec"]["containers"][0]
    comp = x["metadata"]["labels"]["app.kubernetes.io/component"]
    name = ("host-" + x["metadata"]["labels"]["edgepipe.io/node"] if comp == "stage-host"
            else "controller")
    open(f"{out}/{name}.args", "w").write("".join(a + "\n" for a in c["command"] + c["args"]))
    ann = x["metadata"].get("annotations", {})
    if "edgepipe.io/plan-stage" in ann:
        open(f"{out}/{name}.stage", "w").write(ann["edgepipe.io/plan-stage"] + "\n")
