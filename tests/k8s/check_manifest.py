"""Structural checks of experiments/cluster/k8s/sweep-job.yaml that kubectl's client-side dry
run does not make without a server's OpenAPI schema: field types, the Indexed Job, the shard
count agreeing in its three places, the merge reading the shards' volume. Prints one line per
failed check and exits 1 if any; with --commands DIR, writes each container's shell command to
DIR/<job>.sh (paths /data and /config left as they are) for the test to run locally."""
import sys
import yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
failed = []


def check(cond, what):
    if not cond:
        failed.append(what)


by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
check(set(by) == {("ConfigMap", "edgepipe-sweep"), ("PersistentVolumeClaim", "edgepipe-sweep"),
                  ("Job", "edgepipe-sweep"), ("Job", "edgepipe-merge")}, f"objects: {sorted(by)}")
sweep, merge = by.get(("Job", "edgepipe-sweep")), by.get(("Job", "edgepipe-merge"))
cm = by.get(("ConfigMap", "edgepipe-sweep"))
if sweep and merge and cm:
    s = sweep["spec"]
    check(s.get("completionMode") == "Indexed", "the sweep Job is not Indexed")
    check(isinstance(s.get("completions"), int) and s["completions"] > 0, "completions not an int")
    check(isinstance(s.get("parallelism"), int), "parallelism not an int")

    def env(job):
        c = job["spec"]["template"]["spec"]["containers"][0]
        return {e["name"]: e["value"] for e in c.get("env", [])}

    for job in (sweep, merge):
        v = env(job).get("EDGEPIPE_SHARD_COUNT")
        check(isinstance(v, str) and v == str(s.get("completions")),
              f"{job['metadata']['name']}: EDGEPIPE_SHARD_COUNT {v!r} != completions")
        pod = job["spec"]["template"]["spec"]
        check(pod.get("restartPolicy") in ("Never", "OnFailure"), "restartPolicy")
        for c in pod["containers"]:
            for k in ("requests", "limits"):
                check(isinstance(c.get("resources", {}).get(k), dict), f"{c['name']}: no {k}")
            check(all(isinstance(a, str) for a in c["command"] + c["args"]), "command not strings")
        claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
                  if "persistentVolumeClaim" in v]
        check(claims == ["edgepipe-sweep"], f"{job['metadata']['name']}: volumes {claims}")
    check(isinstance(cm["data"].get("args"), str), "ConfigMap args not a string")
    check("--db" not in cm["data"]["args"].split() and "--shard" not in cm["data"]["args"].split(),
          "ConfigMap args must leave --db and --shard to the Job")
    if len(sys.argv) > 3 and sys.argv[2] == "--commands":
        for job in (sweep, merge):
            c = job["spec"]["template"]["spec"]["containers"][0]
            open(f"{sys.argv[3]}/{job['metadata']['name']}.sh", "w").write(c["args"][0] + "\n")
        open(f"{sys.argv[3]}/args", "w").write(cm["data"]["args"] + "\n")
for f in failed:
    print("manifest:", f)
sys.exit(1 if failed else 0)
