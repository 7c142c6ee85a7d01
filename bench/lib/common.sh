# Shared by the bench scripts (sourced, not run): finding a JDK for the build, and the test image
# and registry the image-pull benchmarks use.

# Sets JAVA_HOME to a JDK 21 or newer under /usr/lib/jvm when it is not set (for ./mvnw; the
# launchers find one by themselves).
use_jdk21() {
  [[ -n ${JAVA_HOME:-} ]] && return
  local dir v
  for dir in /usr/lib/jvm/*/; do
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$dir/release" 2>/dev/null || true)
    if [[ -n $v ]] && ((v >= 21)); then export JAVA_HOME=${dir%/}; return; fi
  done
}

# build_image LAYOUT TAG SIZES BUNDLE: an OCI image layout with one layer of random bytes per
# size in SIZES (MiB, comma-separated), made with umoci; BUNDLE is scratch space.
build_image() {
  local layout=$1 tag=$2 sizes=$3 bundle=$4 i=0 mib
  umoci init --layout "$layout" && umoci new --image "$layout:$tag"
  for mib in ${sizes//,/ }; do
    umoci unpack --rootless --image "$layout:$tag" "$bundle" >/dev/null
    head -c "$((mib << 20))" /dev/urandom >"$bundle/rootfs/layer$i.bin"
    umoci repack --image "$layout:$tag" "$bundle"
    rm -rf "$bundle"
    i=$((i + 1))
  done
}

# registry_config FILE ADDR DATA_DIR: a docker-registry config serving ADDR from DATA_DIR, with
# its access log on (the benchmarks count blob bytes in it).
registry_config() {
  cat >"$1" <<CONFIG
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $3}}
http: {addr: $2}
CONFIG
}

# containerd_files DIR REGISTRY HOST_URL: the config of a containerd of its own (root, state and
# socket DIR/sock under DIR, no CRI) and a hosts.toml under DIR/hosts that sends pulls of
# REGISTRY to HOST_URL (a dfdaemon, or the registry itself: containerd 1.6 rejects a hosts.toml
# without a [host] table).
containerd_files() {
  local dir=$1 registry=$2 host=$3
  mkdir -p "$dir/hosts/$registry"
  printf 'version = 2\nroot = "%s"\nstate = "%s"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s"\n' \
    "$dir/root" "$dir/state" "$dir/sock" >"$dir/config.toml"
  printf 'server = "http://%s"\n[host."%s"]\n  capabilities = ["pull", "resolve"]\n' "$registry" "$host" \
    >"$dir/hosts/$registry/hosts.toml"
}
