#!/usr/bin/env bash
# Stands in for frps 0.31.2: takes frps's flags and its INI [common] section, maps every key that is a
# host concern onto `p2prc -s --reverse-proxy` flags, and refuses any other key loudly (exit 2), so the
# suite never silently runs against a host configured differently from what it asked for.
#   FRPS_WRAPPER_REPO=/path/to/p2prc frps.sh -c frps.ini | -t TOKEN -p PORT [--vhost_http_port N] ...
# FRPS_WRAPPER_BIND overrides bind_addr (our CI keeps every socket on 127.0.0.1, while frp's configs say
# 0.0.0.0); FRPS_WRAPPER_CONFIG_DIR is where the host keeps its records and certificate (default: a new
# temp dir). These are not named P2PRC_*: the CLI reads every P2PRC_* variable as one of its options.
# The last line execs node, so a kill of this process (the suite SIGKILLs frps) is p2prc's.
set -euo pipefail
repo="${FRPS_WRAPPER_REPO:?frps.sh: set FRPS_WRAPPER_REPO to the p2prc checkout (holding bin/p2prc.js and dist/)}"
die() { echo "frps.sh (p2prc in place of frps): $*" >&2; exit 2; }

declare -A conf=()
set_key() { # frps key, value (from a flag or the INI file)
  case "$1" in
    bind_addr|bind_port|vhost_http_port|vhost_https_port|subdomain_host|allow_ports|token|max_ports_per_client|log_level|log_file|log_max_days|disable_log_color)
      conf[$1]="$2" ;;
    *) die "unsupported frps setting '$1 = $2' (p2prc supports: bind_addr bind_port vhost_http_port vhost_https_port subdomain_host allow_ports token max_ports_per_client log_*)" ;;
  esac
}

# frps renders its config file as a Go template with the environment as .Envs (frp >= 0.29). The result
# goes to $REPLY, not through $(...): a subshell per line costs the host part of frp's 200 ms head start.
render() {
  local name
  REPLY="$1"
  while [[ "$REPLY" =~ \{\{[[:space:]]*\.Envs\.([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*\}\} ]]; do
    name="${BASH_REMATCH[1]}"
    REPLY="${REPLY/"${BASH_REMATCH[0]}"/"${!name:-}"}"
  done
  [[ "$REPLY" == *'{{'* ]] && die "unsupported template in config: $REPLY"
  return 0
}

read_ini() {
  local file="$1" section="" raw line key value
  [ -r "$file" ] || die "cannot read config file $file"
  while IFS= read -r raw || [ -n "$raw" ]; do
    render "$raw"; line="$REPLY"
    line="${line#"${line%%[![:space:]]*}"}"; line="${line%"${line##*[![:space:]]}"}"
    case "$line" in ''|'#'*|';'*) continue ;; esac
    if [[ "$line" =~ ^\[(.*)\]$ ]]; then section="${BASH_REMATCH[1]}"; continue; fi
    [[ "$line" == *=* ]] || die "$file: cannot parse line '$line'"
    key="${line%%=*}"; value="${line#*=}"
    key="${key%"${key##*[![:space:]]}"}"; value="${value#"${value%%[![:space:]]*}"}"
    [ "$section" = common ] || die "$file: section [$section] is not an frps section"
    set_key "$key" "$value"
  done < "$file"
}

while [ $# -gt 0 ]; do
  case "$1" in
    -c|--config) read_ini "$2"; shift 2 ;;
    -t|--token) set_key token "$2"; shift 2 ;;
    -p|--bind_port) set_key bind_port "$2"; shift 2 ;;
    --*=*) k="${1%%=*}"; set_key "${k#--}" "${1#*=}"; shift ;;
    --*) [ $# -ge 2 ] || die "flag $1 needs a value"; set_key "${1#--}" "$2"; shift 2 ;;
    *) die "unsupported argument '$1'" ;;
  esac
done

[ -n "${conf[token]:-}" ] || die "no token: frps allows none, p2prc always requires one"
[ "${conf[log_file]:-console}" = console ] || die "log_file other than console is not supported (p2prc logs to stderr)"
bind="${conf[bind_addr]:-0.0.0.0}"
if [ -n "${FRPS_WRAPPER_BIND:-}" ] && [ "$FRPS_WRAPPER_BIND" != "$bind" ]; then
  echo "frps.sh: bind_addr $bind replaced by FRPS_WRAPPER_BIND=$FRPS_WRAPPER_BIND" >&2
  bind="$FRPS_WRAPPER_BIND"
fi
# frps's max_ports_per_client 0 means unlimited; p2prc's cap is explicit.
max="${conf[max_ports_per_client]:-0}"; [ "$max" = 0 ] && max=65535
args=(-s --reverse-proxy --control-port "${conf[bind_port]:-7000}" --bind "$bind" --token "${conf[token]}"
  --max-tunnels-per-client "$max" --port 0 --config-dir "${FRPS_WRAPPER_CONFIG_DIR:-$(mktemp -d)}")
[ -n "${conf[allow_ports]:-}" ] && args+=(--allow-ports "${conf[allow_ports]}")
[ -n "${conf[vhost_http_port]:-}" ] && [ "${conf[vhost_http_port]}" != 0 ] && args+=(--vhost-http-port "${conf[vhost_http_port]}")
[ -n "${conf[vhost_https_port]:-}" ] && [ "${conf[vhost_https_port]}" != 0 ] && args+=(--vhost-https-port "${conf[vhost_https_port]}")
[ -n "${conf[subdomain_host]:-}" ] && args+=(--subdomain-host "${conf[subdomain_host]}")
case "${conf[log_level]:-info}" in trace|debug) args+=(--verbose) ;; esac
exec node "$repo/bin/p2prc.js" "${args[@]}"
