# A stand-in for a Kubernetes API server that answers discovery only (which kinds exist), on
# 127.0.0.1 at a free port that it prints, so that `kubectl create --dry-run=client
# --validate=false` can map the kinds of a manifest without a cluster. It stores nothing and
# answers every other request 404. Used by tests/k8s_manifests.sh.
import http.server, json, sys
res = lambda gv, items: {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
    "resources": [{"name": n, "singularName": n[:-1], "namespaced": ns, "kind": k,
                   "verbs": ["create", "get", "list"]} for n, k, ns in items]}
group = lambda g, v: {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                      "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}}
docs = {
  "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
  "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group("batch", "v1"), group("apps", "v1"), group("rbac.authorization.k8s.io", "v1")]},
  "/api/v1": res("v1", [("configmaps", "ConfigMap", True), ("persistentvolumeclaims", "PersistentVolumeClaim", True), ("services", "Service", True), ("serviceaccounts", "ServiceAccount", True), ("namespaces", "Namespace", False)]),
  "/apis/batch/v1": res("batch/v1", [("jobs", "Job", True)]),
  "/apis/apps/v1": res("apps/v1", [("deployments", "Deployment", True)]),
  "/apis/rbac.authorization.k8s.io/v1": res("rbac.authorization.k8s.io/v1", [("roles", "Role", True), ("rolebindings", "RoleBinding", True)]),
}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        p = self.path.split("?")[0]
        sys.stderr.write(p + "\n")
        if p in docs:
            b = json.dumps(docs[p]).encode()
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
        else:
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
