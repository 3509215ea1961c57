#!/usr/bin/env bash
# Send one dedicated user's outbound HTTPS through zerogravity-proxy in transparent mode.
#
# Why: the Antigravity language server (a Go binary) partly ignores HTTPS_PROXY (its gRPC
# traffic bypasses it), so the dependable way to see all of its Google traffic is to run it as
# a dedicated user and redirect that user's TCP 443 to the proxy's transparent port
# (antigravity.md 2.1, ops-and-style.md 2.2). Nobody else's traffic is touched.
#
# Usage:
#   transparent-nftables.sh [--user NAME|UID] [--port PORT] [--proxy-user NAME|UID]
#                           [--apply | --remove]
#
#   --user NAME|UID        whose traffic is redirected (default: zerogravity-ls)
#   --port PORT            the proxy's transparent listen port (default: 8080)
#   --proxy-user NAME|UID  the user the proxy runs as; its packets are never redirected, so
#                          mitmproxy's own upstream connections cannot loop back into it
#   --apply                load the ruleset (root); reloading replaces it, so it is idempotent
#   --remove               delete the table (root); a no-op when it is absent
#   --dry-run              (the default) print the ruleset --apply would load, change nothing
#
# Environment: NFT names the nft binary to run (default: nft from PATH).
#
# The ruleset (table `inet zerogravity`, so one chain covers IPv4 and IPv6):
#   - loopback destinations pass untouched (local services, the proxy's own sidecar);
#   - the proxy user passes untouched;
#   - the dedicated user's TCP 443 is redirected to :PORT on loopback.
#
# Notes:
#   - Needs Linux >= 5.2 (NAT in the inet family). The priority is the number -100, not the
#     name `dstnat`: nft only accepts that name on the prerouting hook.
#   - REDIRECT rewrites the destination to 127.0.0.1 or ::1, so the proxy must listen on both
#     loopback addresses (e.g. listen_host "" or "::" with dual-stack), in transparent mode:
#     `--mode transparent`. It recovers the original destination with SO_ORIGINAL_DST, which
#     needs no capability.
#   - nft resolves user names to UIDs when the rules are loaded: create the users first, and
#     reload after recreating them. Numeric UIDs are used as given.
#   - The dedicated user must trust the proxy's CA; for Go, SSL_CERT_FILE replaces the system
#     store, so point it at the bundle zerogravity_proxy.ca.trust_bundle() writes.
#   - Loaded rules do not survive a reboot: run --apply from a oneshot unit ordered
#     After=nftables.service, or put the printed ruleset in /etc/nftables.d/.
set -euo pipefail

TABLE="zerogravity"
user="zerogravity-ls"
port="8080"
proxy_user=""
action="print"

die() {
    printf '%s: %s\n' "${0##*/}" "$1" >&2
    exit 2
}

usage() {
    sed -n '/^# Usage:/,/^# The ruleset/{/^# The ruleset/d;s/^# \{0,1\}//;p}' "$0"
}

while (($# > 0)); do
    case "$1" in
        --user) user="${2-}"; shift 2 || die "--user needs a value" ;;
        --user=*) user="${1#*=}"; shift ;;
        --port) port="${2-}"; shift 2 || die "--port needs a value" ;;
        --port=*) port="${1#*=}"; shift ;;
        --proxy-user) proxy_user="${2-}"; shift 2 || die "--proxy-user needs a value" ;;
        --proxy-user=*) proxy_user="${1#*=}"; shift ;;
        --apply) action="apply"; shift ;;
        --remove) action="remove"; shift ;;
        --dry-run) action="print"; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

# A user as nft wants it: a UID bare, a name quoted. Validated first because it is pasted
# into the ruleset.
nft_user() {
    local name="$1" what="$2"
    if [[ "$name" =~ ^[0-9]+$ ]]; then
        printf '%s' "$name"
    elif [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_.-]*[$]?$ ]]; then
        printf '"%s"' "$name"
    else
        die "$what: ${name@Q} is not a user name or UID"
    fi
}

uid_of() {
    if [[ "$1" =~ ^[0-9]+$ ]]; then printf '%s' "$1"; else id -u -- "$1" 2>/dev/null; fi
}

if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
    die "--port: ${port@Q} is not a port number"
fi
port=$((10#$port))
skuid=$(nft_user "$user" "--user")
proxy_skuid=""
[[ -z "$proxy_user" ]] || proxy_skuid=$(nft_user "$proxy_user" "--proxy-user")

user_uid=$(uid_of "$user") || user_uid=""
proxy_uid=""
[[ -z "$proxy_user" ]] || proxy_uid=$(uid_of "$proxy_user") || proxy_uid=""
if [[ -n "$proxy_user" && ("$proxy_user" == "$user" || (-n "$user_uid" && "$user_uid" == "$proxy_uid")) ]]; then
    die "--proxy-user must differ from --user: the proxy's own connections would loop back"
fi

# Declaring the table, then deleting it, then defining it, in one `nft -f` transaction:
# the first line makes the delete safe when the table is absent, and the whole load is
# atomic, so running --apply again replaces the rules instead of stacking duplicates.
ruleset() {
    printf 'table inet %s\n' "$TABLE"
    printf 'delete table inet %s\n' "$TABLE"
    printf 'table inet %s {\n' "$TABLE"
    printf '\tchain output {\n'
    printf '\t\ttype nat hook output priority -100; policy accept;\n'
    printf '\t\tip daddr 127.0.0.0/8 return\n'
    printf '\t\tip6 daddr ::1 return\n'
    [[ -z "$proxy_skuid" ]] || printf '\t\tmeta skuid %s return\n' "$proxy_skuid"
    printf '\t\tmeta skuid %s tcp dport 443 redirect to :%s\n' "$skuid" "$port"
    printf '\t}\n'
    printf '}\n'
}

removal() {
    printf 'table inet %s\n' "$TABLE"
    printf 'delete table inet %s\n' "$TABLE"
}

need_root() {
    ((EUID == 0)) || die "--$action changes the firewall: run it as root (or without --$action for a dry run)"
    command -v "${NFT:-nft}" >/dev/null || die "nft not found: install nftables"
}

case "$action" in
    print)
        if [[ -z "$user_uid" ]]; then
            printf '%s: note: user %s does not exist here; nft will refuse to load this\n' \
                "${0##*/}" "${user@Q}" >&2
        fi
        ruleset
        ;;
    apply)
        need_root
        [[ -n "$user_uid" ]] || die "user ${user@Q} does not exist: create it first (useradd --system $user)"
        [[ -z "$proxy_user" || -n "$proxy_uid" ]] || die "proxy user ${proxy_user@Q} does not exist"
        ruleset | "${NFT:-nft}" -f -
        printf 'redirecting TCP 443 of %s to :%s (table inet %s)\n' "$user" "$port" "$TABLE" >&2
        ;;
    remove)
        need_root
        removal | "${NFT:-nft}" -f -
        printf 'removed table inet %s\n' "$TABLE" >&2
        ;;
esac
