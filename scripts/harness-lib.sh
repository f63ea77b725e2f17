# Sourced by the test harnesses (kube-harness.sh, jaeger-harness.sh): their messages, and the Go
# version check both builds need. Set HARNESS (the prefix of their lines) before sourcing.

say() { printf '[%s] %s\n' "$HARNESS" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$HARNESS" "$*" >&2; exit 1; }
# Exit code 3 means "cannot be had on this machine" (no Go, no proxy, no etcd): callers skip.
unavailable() { printf '[%s] unavailable: %s\n' "$HARNESS" "$*" >&2; exit 3; }

# go_minor BIN: the minor version of a Go binary (19 for go1.19.8), or 0.
go_minor() {
  local v
  v=$("$1" env GOVERSION 2>/dev/null || "$1" version 2>/dev/null | awk '{print $3}')
  v=${v#go1.}
  [[ $v =~ ^([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo 0
}
