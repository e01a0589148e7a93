#!/usr/bin/env bash
# Make a runnable regtest bitcoind available for tests, without installing anything system-wide.
#
# Debian bookworm ships no Bitcoin Core; Debian unstable (sid) ships `bitcoin-knots`, whose
# binaries need sid's newer libc. So we fetch bitcoin-knots and the libraries it links with
# `apt-get download` through a PRIVATE apt configuration for sid (own sources list, state and
# cache under .cache/bitcoind/apt), unpack them with `dpkg-deb -x`, and run bitcoind through
# sid's own loader:  <loader> --library-path <lib dirs> <bin dir>/bitcoind -regtest …
#
# Usage:
#   scripts/bitcoind.sh                  prepare (once; later runs are instant) and print
#                                        KEY="VALUE" lines (shell-sourceable): BITCOIND_LOADER, BITCOIND_LIBRARY_PATH,
#                                        BITCOIND, BITCOIN_CLI, BITCOIND_CMD (the command prefix)
#   scripts/bitcoind.sh bitcoind -regtest -datadir=/tmp/x     run a binary through the loader
#   scripts/bitcoind.sh bitcoin-cli -regtest -datadir=/tmp/x getblockcount
#
# Environment: DEPOSITD_BITCOIND_CACHE (default <repo>/.cache/bitcoind),
#              DEPOSITD_DEBIAN_MIRROR (default: the Debian archive from this machine's apt sources).
set -euo pipefail

root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${DEPOSITD_BITCOIND_CACHE:-$root_dir/.cache/bitcoind}
tree=$cache/root
ready=$cache/ready.env

log() { echo "bitcoind.sh: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

print_env() { cat "$ready"; }

run_binary() {
  # shellcheck disable=SC1090
  . "$ready"
  local name=$1
  shift
  exec "$BITCOIND_LOADER" --library-path "$BITCOIND_LIBRARY_PATH" "$(dirname "$BITCOIND")/$name" "$@"
}

finish() {
  case "${1:-}" in
    bitcoind | bitcoin-cli) run_binary "$@" ;;
    "") print_env ;;
    *) die "unknown argument '$1' (expected nothing, or bitcoind or bitcoin-cli)" ;;
  esac
}

# Fast path: already prepared.
if [[ -s $ready ]]; then
  finish "$@"
  exit 0
fi

[[ $(uname -m) == x86_64 ]] || die "only x86_64 is supported (found $(uname -m))"
for tool in apt-get apt-cache dpkg-deb flock; do
  command -v "$tool" >/dev/null || die "'$tool' not found: this script needs a Debian-like system"
done

mkdir -p "$cache"
# Test files start in parallel: only one of them prepares, the others wait and reuse.
exec 9>"$cache/.lock"
flock 9
if [[ -s $ready ]]; then
  finish "$@"
  exit 0
fi

started=$(date +%s)
apt_dir=$cache/apt
rm -rf "$apt_dir"
mkdir -p "$apt_dir/etc/sources.list.d" "$apt_dir/etc/preferences.d" "$apt_dir/state/lists/partial" \
  "$apt_dir/cache/archives/partial" "$apt_dir/debs"
: >"$apt_dir/state/status"

# Candidate Debian archives from this machine's own apt sources ("URI<TAB>keyring" lines):
# deb822 *.sources stanzas and one-line *.list entries; security archives are skipped.
debian_archives() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; signed = ""; enabled = "yes"; key = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^#/) continue
          if (line ~ /^[ \t]/) { if (key == "uris") uris = uris " " line; continue }
          p = index(line, ":"); if (p == 0) continue
          key = tolower(substr(line, 1, p - 1)); val = substr(line, p + 1)
          gsub(/^[ \t]+|[ \t]+$/, "", val)
          if (key == "types") types = val
          else if (key == "uris") uris = val
          else if (key == "suites") suites = val
          else if (key == "signed-by") signed = val
          else if (key == "enabled") enabled = tolower(val)
        }
        if (enabled == "no" || types !~ /(^| )deb( |$)/ || suites ~ /security/) next
        if (signed !~ /^\//) signed = ""
        n = split(uris, u, /[ \t]+/)
        for (j = 1; j <= n; j++) if (u[j] != "" && u[j] !~ /security/) print u[j] "\t" signed
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    awk '$1 == "deb" {
        i = 2; signed = ""
        if ($2 ~ /^\[/) {
          for (; i <= NF; i++) {
            if ($i ~ /^\[?signed-by=/) { s = $i; sub(/^\[?signed-by=/, "", s); sub(/\]$/, "", s); signed = s }
            if ($i ~ /\]$/) { i++; break }
          }
        }
        uri = $i; suite = $(i + 1)
        if (uri != "" && uri !~ /security/ && suite !~ /security/) print uri "\t" signed
      }' "$f"
  done
}

if [[ -n ${DEPOSITD_DEBIAN_MIRROR:-} ]]; then
  candidates=$(printf '%s\t\n' "$DEPOSITD_DEBIAN_MIRROR")
else
  # Plain Debian archives (path ending in /debian) first, then anything else listed.
  all=$(debian_archives | awk -F'\t' '!seen[$1]++')
  candidates=$( (grep -E '/debian/?	' <<<"$all" || true) && (grep -vE '/debian/?	' <<<"$all" || true))
fi
[[ -n $candidates ]] || die "no Debian archive found in /etc/apt/sources.list{,.d/*}; set DEPOSITD_DEBIAN_MIRROR"

apt_opts=(
  -q
  -o "Dir::Etc::sourcelist=$apt_dir/etc/sources.list"
  -o "Dir::Etc::sourceparts=$apt_dir/etc/sources.list.d"
  -o "Dir::Etc::preferences=$apt_dir/etc/preferences"
  -o "Dir::Etc::preferencesparts=$apt_dir/etc/preferences.d"
  -o "Dir::State=$apt_dir/state"
  -o "Dir::State::status=$apt_dir/state/status"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::Cache::archives=$apt_dir/cache/archives"
  # Keep apt's binary package cache between the calls below (docker images often disable it):
  # rebuilding it from the sid index costs about a second per apt call.
  -o "Dir::Cache::pkgcache=$apt_dir/cache/pkgcache.bin"
  -o "Dir::Cache::srcpkgcache=$apt_dir/cache/srcpkgcache.bin"
  -o "Acquire::Languages=none"
  -o "Acquire::Retries=3"
  -o "APT::Architecture=amd64"
  -o "APT::Sandbox::User=root"
)

updated=""
while IFS=$'\t' read -r uri keyring; do
  [[ -n $uri ]] || continue
  [[ -n $keyring ]] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  opts="arch=amd64"
  [[ -r $keyring ]] && opts="$opts signed-by=$keyring"
  echo "deb [$opts] ${uri%/} sid main" >"$apt_dir/etc/sources.list"
  log "fetching the sid package index from ${uri%/}"
  if apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1; then
    updated=$uri
    break
  fi
  log "apt-get update against ${uri%/} failed: $(grep -E '^(E|W):' "$apt_dir/update.log" | head -3 | tr '\n' ' ')"
done <<<"$candidates"
[[ -n $updated ]] || die "could not read the sid index from any archive (see $apt_dir/update.log)"

# bitcoin-knots plus every lib* package it links with, transitively, all from sid, so nothing
# depends on what the host happens to have installed.
lib_deps() {
  apt-cache "${apt_opts[@]}" depends --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$@" 2>/dev/null | awk '$1 ~ /Depends:$/ && $2 ~ /^lib/ { print $2 }' | sort -u
}
packages=" bitcoin-knots "
todo=$(lib_deps bitcoin-knots)
while [[ -n $todo ]]; do
  fresh=""
  for p in $todo; do
    [[ $packages == *" $p "* ]] && continue
    # gconv modules are charset plugins bitcoind never loads.
    [[ $p == libc-gconv-modules-extra ]] && continue
    packages="$packages$p "
    fresh="$fresh $p"
  done
  # One apt-cache call per level: loading the sid index costs ~0.5 s each time.
  todo=""
  [[ -n $fresh ]] && todo=$(lib_deps $fresh)
done
for p in libc6 libstdc++6 libzmq5; do
  [[ $packages == *" $p "* ]] || die "sid's bitcoin-knots no longer depends on $p; this script needs updating"
done

log "downloading:$packages"
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download $packages >"$apt_dir/download.log" 2>&1) ||
  die "apt-get download failed: $(tail -3 "$apt_dir/download.log" | tr '\n' ' ')"

rm -rf "$tree.tmp"
mkdir -p "$tree.tmp"
for deb in "$apt_dir"/debs/*.deb; do
  dpkg-deb -x "$deb" "$tree.tmp"
done

# Documentation, manuals and locales are not needed to run bitcoind.
rm -rf "$tree.tmp/usr/share/doc" "$tree.tmp/usr/share/man" "$tree.tmp/usr/share/locale" "$tree.tmp/usr/share/lintian"
rm -f "$tree.tmp/usr/bin/bitcoin-tx" "$tree.tmp/usr/bin/bitcoin-util" "$tree.tmp/usr/bin/bitcoin-wallet"
loader=$(find "$tree.tmp" -name ld-linux-x86-64.so.2 -type f | head -1)
[[ -n $loader ]] || die "sid's libc6 has no ld-linux-x86-64.so.2"
[[ -x $tree.tmp/usr/bin/bitcoind ]] || die "bitcoin-knots has no usr/bin/bitcoind"

# The standard library directories holding shared objects (not plugin folders), at the final location.
lib_path=$(find "$tree.tmp" \( -name '*.so' -o -name '*.so.*' \) -printf '%h\n' | sort -u |
  grep -E "^$tree.tmp/(usr/)?lib(64|32)?(/x86_64-linux-gnu)?\$" | sed "s#^$tree.tmp#$tree#" | paste -sd:)
loader=${loader/#$tree.tmp/$tree}

rm -rf "$tree"
mv "$tree.tmp" "$tree"

# Prove it runs before declaring it ready.
version=$("$loader" --library-path "$lib_path" "$tree/usr/bin/bitcoind" -version 2>&1 | head -1) ||
  die "bitcoind does not start through the sid loader: $version"

{
  echo "BITCOIND_LOADER=\"$loader\""
  echo "BITCOIND_LIBRARY_PATH=\"$lib_path\""
  echo "BITCOIND=\"$tree/usr/bin/bitcoind\""
  echo "BITCOIN_CLI=\"$tree/usr/bin/bitcoin-cli\""
  echo "BITCOIND_CMD=\"$loader --library-path $lib_path $tree/usr/bin/bitcoind\""
  echo "BITCOIND_VERSION=\"$version\""
} >"$ready.tmp"
mv "$ready.tmp" "$ready"

# The index and the .deb files are not needed any more; the unpacked tree is the cache.
rm -rf "$apt_dir"
log "ready in $(($(date +%s) - started)) s: $version"
finish "$@"
