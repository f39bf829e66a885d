#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/: every YAML file is valid (yamllint --strict when installed, else PyYAML), the
ecr-token-refresh configurations in them pass `ecr-token-refresh --check`, and the Kubernetes,
Clouddriver and Halyard examples agree with each other (paths, ports, probe, IRSA annotation).
TAP output."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

top_srcdir = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
daemon = os.environ.get("ECR_TOKEN_REFRESH") or os.path.join(os.environ.get("top_builddir", top_srcdir),
                                                            "ecr-token-refresh")
examples = os.path.join(top_srcdir, "examples")

n = 0
failed = 0


def tap(ok, name, diag=None):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n, name))
    if not ok and diag:
        for line in str(diag).rstrip().splitlines():
            print("#   " + line)
    sys.stdout.flush()
    return ok


def skip(name, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, name, why))


try:
    import yaml
except ImportError:  # PyYAML missing: yamllint alone can still check syntax
    yaml = None

files = sorted(glob.glob(os.path.join(examples, "*.yaml")) + glob.glob(os.path.join(examples, "*.yml")))
if not files:
    print("Bail out! no examples/*.yaml in %s" % examples)
    sys.exit(1)
if yaml is None and not shutil.which("yamllint"):
    print("1..0 # SKIP neither PyYAML nor yamllint installed")
    sys.exit(0)

# 1. Syntax (and style, with yamllint).
linter = shutil.which("yamllint")
docs = {}
for f in files:
    name = os.path.relpath(f, top_srcdir)
    if linter:
        p = subprocess.run([linter, "--strict", "-f", "parsable", "-c", os.path.join(top_srcdir, "tests", "yamllint.yml"), f],
                           capture_output=True, text=True)
        tap(p.returncode == 0, "%s: yamllint --strict" % name, p.stdout + p.stderr)
    if yaml is not None:
        try:
            with open(f) as fh:
                docs[os.path.basename(f)] = [d for d in yaml.safe_load_all(fh) if d is not None]
            tap(True, "%s: parses" % name)
        except yaml.YAMLError as e:
            tap(False, "%s: parses" % name, e)

if yaml is None:
    print("1..%d" % n)
    sys.exit(1 if failed else 0)


def check_config(name, path=None, text=None):
    """`ecr-token-refresh --check` on a configuration file (or text), as the daemon would load it."""
    if not os.access(daemon, os.X_OK):
        skip("%s: ecr-token-refresh --check" % name, "%s not built" % daemon)
        return
    tmp = None
    if path is None:
        with tempfile.NamedTemporaryFile("w", prefix="configmap-", suffix=".yaml", delete=False) as fh:
            fh.write(text)
        path = tmp = fh.name
    try:
        p = subprocess.run([daemon, "--check", "--config", path], capture_output=True, text=True)
        tap(p.returncode == 0, "%s: ecr-token-refresh --check" % name, p.stdout + p.stderr)
    finally:
        if tmp:
            os.unlink(tmp)


# 2. The service's own configurations.
for f in ("config.yaml", "container-config.yaml"):
    check_config("examples/" + f, path=os.path.join(examples, f))
container_conf = docs["container-config.yaml"][0]
tap(container_conf.get("health", {}).get("listen") == "0.0.0.0:3277",
    "container image config: health endpoint on 0.0.0.0:3277", container_conf)

# 3. The Kubernetes sidecar example.
k8s = {d["kind"]: d for d in docs["kubernetes-sidecar.yaml"]}
tap(set(k8s) == {"ServiceAccount", "ConfigMap", "Deployment"}, "sidecar example: ServiceAccount, ConfigMap, Deployment",
    sorted(k8s))
sa, cm, dep = k8s["ServiceAccount"], k8s["ConfigMap"], k8s["Deployment"]
role = sa["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn", "")
tap(role.startswith("arn:aws:iam::") and ":role/" in role, "IRSA role annotation on the service account", role)
pod = dep["spec"]["template"]["spec"]
tap(pod.get("serviceAccountName") == sa["metadata"]["name"], "the pod uses that service account")
tap(dep["spec"]["selector"]["matchLabels"].items() <= dep["spec"]["template"]["metadata"]["labels"].items(),
    "the selector matches the pod labels")

refresh_conf_text = cm["data"]["config.yaml"]
check_config("ConfigMap config.yaml", text=refresh_conf_text)
refresh_conf = yaml.safe_load(refresh_conf_text)
containers = {c["name"]: c for c in pod["containers"]}
side = containers.get("ecr-token-refresh")
cd = containers.get("clouddriver")
tap(side is not None and cd is not None, "clouddriver and ecr-token-refresh containers")
volumes = {v["name"]: v for v in pod["volumes"]}


def mount_of(container, volume_kind):
    for m in container.get("volumeMounts", []):
        if volume_kind in volumes.get(m["name"], {}):
            yield m


side_cfg = [m for m in mount_of(side, "configMap")]
tap(len(side_cfg) == 1 and side_cfg[0]["mountPath"] == "/opt/config/ecr-token-refresh" and
    volumes[side_cfg[0]["name"]]["configMap"]["name"] == cm["metadata"]["name"],
    "the ConfigMap is mounted where the image's entrypoint reads it", side_cfg)
shared = [m["name"] for m in mount_of(side, "emptyDir")]
tap(len(shared) == 1 and shared[0] in [m["name"] for m in cd.get("volumeMounts", [])],
    "an emptyDir shared by both containers", shared)
side_dir = [m["mountPath"] for m in side["volumeMounts"] if m["name"] in shared][0]
cd_dir = [m["mountPath"] for m in cd["volumeMounts"] if m["name"] in shared][0]
pw_files = [r["passwordFile"] for r in refresh_conf["registries"]]
tap(pw_files and all(os.path.dirname(p) == side_dir for p in pw_files),
    "every passwordFile is on the shared volume", pw_files)

probe = side.get("livenessProbe", {}).get("httpGet", {})
listen_port = int(refresh_conf.get("health", {}).get("listen", ":0").rsplit(":", 1)[1])
tap(probe.get("path") == "/health" and probe.get("port") == listen_port == 3277,
    "liveness probe on /health at the port the config listens on", (probe, listen_port))
sc = side.get("securityContext", {})
tap(sc.get("runAsNonRoot") is True and sc.get("readOnlyRootFilesystem") is True and sc.get("runAsUser") == 10001,
    "the sidecar runs as the image's non-root user with a read-only root", sc)

# 4. Clouddriver's profile reads exactly those files, with username AWS.
cdl = docs["clouddriver-local.yml"][0]
accounts = cdl["dockerRegistry"]["accounts"]
cd_files = sorted(a["passwordFile"] for a in accounts)
tap(sorted(os.path.join(cd_dir, os.path.basename(p)) for p in pw_files) == cd_files,
    "clouddriver-local.yml reads the files the sidecar writes", (cd_files, pw_files))
tap(all(a["username"] == "AWS" for a in accounts), "dockerRegistry accounts use username AWS")
hosts = {a["address"].split("://")[-1] for a in accounts}
regs = {"%s.dkr.ecr.%s.amazonaws.com" % (r["registryId"], r["region"]) for r in refresh_conf["registries"]}
tap(hosts == regs, "account addresses are the configured registries", (hosts, regs))
known = {a["name"] for a in accounts}
used = {r["accountName"] for k in cdl.get("kubernetes", {}).get("accounts", []) for r in k.get("dockerRegistries", [])}
tap(used <= known, "kubernetes accounts only name configured registries", used - known)

# 5. Halyard's sidecar fragment.
hal = docs["halyard-sidecar.yml"][0]
sidecars = hal["deploymentConfigurations"][0]["deploymentEnvironment"]["sidecars"]["spin-clouddriver"]
tap(len(sidecars) == 1 and sidecars[0]["mountPath"].startswith("/") and
    sidecars[0]["configMapVolumeMounts"][0]["mountPath"] == "/opt/config/ecr-token-refresh",
    "halyard: sidecar with a shared mountPath and the ConfigMap at the image's config path", sidecars)

# 6. The Containerfile agrees with the examples.
with open(os.path.join(top_srcdir, "Containerfile")) as fh:
    cf = fh.read()
tap("/opt/config/ecr-token-refresh/config.yaml" in cf and "EXPOSE 3277" in cf and "USER 10001" in cf and
    "COPY examples/container-config.yaml /opt/config/ecr-token-refresh/config.yaml" in cf,
    "Containerfile: config path, port 3277, user 10001, default config from examples/")

print("1..%d" % n)
sys.exit(1 if failed else 0)
