#!/usr/bin/env bash
# Debian packages the app and its tests need; installed when missing.
#   fonts-croscore        Tinos: Times-metric serif with Vietnamese glyphs (decision PDFs)
#   libharfbuzz-subset0   fast font subsetting for WeasyPrint
#   poppler-utils         pdftotext / pdffonts / pdftoppm (PDF tests)
#   libpango-1.0-0 etc.   WeasyPrint's text layout
set -u
need=()
for pkg in fonts-croscore libharfbuzz-subset0 poppler-utils libpango-1.0-0 libpangoft2-1.0-0 ${EXTRA_DEBS:-}; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${need[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo"
if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
  echo "Cannot install ${need[*]}: run as root, or ask an administrator to run:" >&2
  echo "  apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null 2>&1
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null || {
    echo "Installing ${need[*]} failed. Run: apt-get update && apt-get install -y ${need[*]}" >&2
    exit 1
  }
fi
