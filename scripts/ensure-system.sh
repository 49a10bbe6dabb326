#!/usr/bin/env bash
# Make sure the Debian packages the test suite needs are installed:
#   - postgresql  (server binaries under /usr/lib/postgresql/*/bin, used by
#                  tests/pgcluster.py for a throwaway cluster)
#   - chromium    (browser tests)
#   - a font with Arabic glyphs (fonts-noto-core, else fonts-dejavu-core) so
#     right-to-left screenshots render real glyphs
# Idempotent and silent when everything is already present.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo -E)
fi

# Is a package installable (has a candidate version) from the configured sources?
has_candidate() {
    local cand
    cand=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
    [ -n "$cand" ] && [ "$cand" != "(none)" ]
}

have_pkg() {
    local status
    status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
    [ "$status" = "install ok installed" ]
}

have_postgres() {
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
        && compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null
}

have_chromium() {
    command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]
}

# Prefer fonts-noto-core (Noto Sans/Naskh Arabic); DejaVu Sans also covers
# Arabic and is accepted when Noto is not installable from the known sources.
have_arabic_font() {
    have_pkg fonts-noto-core && return 0
    have_pkg fonts-dejavu-core && ! has_candidate fonts-noto-core
}

missing=()
have_postgres || missing+=(postgresql)
have_chromium || missing+=(chromium)
need_font=0
have_arabic_font || need_font=1

if [ "${#missing[@]}" -eq 0 ] && [ "$need_font" -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-system: missing ${missing[*]:-} (and/or an Arabic font) but apt-get is not available" >&2
    exit 1
fi

echo "ensure-system: installing system packages: ${missing[*]:-} $([ "$need_font" -eq 1 ] && echo '(+ font)')" >&2
"${SUDO[@]}" apt-get update -qq >/dev/null

if [ "$need_font" -eq 1 ] && ! have_arabic_font; then
    if has_candidate fonts-noto-core; then
        missing+=(fonts-noto-core)
    elif has_candidate fonts-dejavu-core; then
        missing+=(fonts-dejavu-core)
    else
        echo "ensure-system: no Arabic-capable font package available; continuing without" >&2
    fi
fi

if [ "${#missing[@]}" -gt 0 ]; then
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Verify the hard requirements.
have_postgres || { echo "ensure-system: PostgreSQL server binaries still missing" >&2; exit 1; }
have_chromium || { echo "ensure-system: chromium still missing" >&2; exit 1; }
