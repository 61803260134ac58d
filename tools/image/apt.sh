# A private apt (sourced by fetch-debs.sh and resolve-debs.sh): its own sources (tools/image/
# sources.list only, so the machine's other repositories, nodesource's for one, never take part),
# its own package lists and caches under .cache/image-apt, no installed-package database, amd64.
# Needs apt and Debian's archive keyring; not root.

APT_STATE="$ROOT/.cache/image-apt"
APT_OPTS=(
  -o "APT::Architecture=amd64"
  -o "APT::Architectures::=amd64"
  -o "Dir::Etc::SourceList=$ROOT/tools/image/sources.list"
  -o "Dir::Etc::SourceParts=$APT_STATE/empty"
  -o "Dir::Etc::Preferences=/dev/null"
  -o "Dir::Etc::PreferencesParts=$APT_STATE/empty"
  -o "Dir::State=$APT_STATE/state"
  -o "Dir::State::Lists=$APT_STATE/lists"
  -o "Dir::State::status=$APT_STATE/status"
  -o "Dir::Cache=$APT_STATE/cache"
  -o "Debug::NoLocking=true"
  -o "Acquire::Languages=none"
)
# As root, apt drops to its _apt user to download, which cannot write into our cache folder.
[ "$(id -u)" = 0 ] && APT_OPTS+=(-o "APT::Sandbox::User=root")

apt_prepare() {
  command -v apt-get >/dev/null || die "apt-get is not on PATH (the operator image is built from Debian packages)"
  [ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || die "Debian's archive keyring is missing (package debian-archive-keyring)"
  mkdir -p "$APT_STATE/empty" "$APT_STATE/state" "$APT_STATE/lists/partial" "$APT_STATE/cache/archives/partial"
  : >"$APT_STATE/status"
}

apt_update() {
  apt_prepare
  log "apt-get update (private lists in .cache/image-apt)"
  apt-get "${APT_OPTS[@]}" -qq update >&2
}

apt_private() { apt-get "${APT_OPTS[@]}" "$@"; }
apt_cache_private() { apt-cache "${APT_OPTS[@]}" "$@"; }
