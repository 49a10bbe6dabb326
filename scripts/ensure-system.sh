#!/usr/bin/env bash
# Make sure the Debian packages the test suite needs are installed:
#   - postgresql  (server binaries under /usr/lib/postgresql/*/bin, used by
#                  tests/pgcluster.py for a throwaway cluster)
#   - chromium    (browser tests)
#   - fonts for every shipped script (fonts-noto-core: Noto Sans/Naskh Arabic for
#     Arabic and Dari, Noto Sans Ethiopic for Tigrinya, Noto Sans for Latin and
#     Cyrillic), so pages render real glyphs and the font-coverage tests can pass
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

# fonts-noto-core is required: DejaVu covers Arabic but not Ethiopic (Tigrinya).
# fc-list is asked as well, so a font installed another way also counts.
have_script_fonts() {
    have_pkg fonts-noto-core && return 0
    command -v fc-list >/dev/null 2>&1 || return 1
    [ -n "$(fc-list ':lang=ti' family 2>/dev/null)" ] && [ -n "$(fc-list ':lang=fa' family 2>/dev/null)" ]
}

missing=()
have_postgres || missing+=(postgresql)
have_chromium || missing+=(chromium)
need_font=0
have_script_fonts || need_font=1

if [ "${#missing[@]}" -eq 0 ] && [ "$need_font" -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-system: missing ${missing[*]:-} (and/or fonts for Arabic, Persian and Ethiopic script) but apt-get is not available" >&2
    exit 1
fi

echo "ensure-system: installing system packages: ${missing[*]:-} $([ "$need_font" -eq 1 ] && echo '(+ font)')" >&2
"${SUDO[@]}" apt-get update -qq >/dev/null

if [ "$need_font" -eq 1 ] && ! have_script_fonts; then
    if has_candidate fonts-noto-core; then
        missing+=(fonts-noto-core fontconfig)
    else
        echo "ensure-system: fonts-noto-core is not available; Dari and Tigrinya pages will not render" >&2
    fi
fi

if [ "${#missing[@]}" -gt 0 ]; then
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Verify the hard requirements.
have_postgres || { echo "ensure-system: PostgreSQL server binaries still missing" >&2; exit 1; }
have_chromium || { echo "ensure-system: chromium still missing" >&2; exit 1; }
have_script_fonts || { echo "ensure-system: no font for Persian and Ethiopic script (fonts-noto-core)" >&2; exit 1; }
