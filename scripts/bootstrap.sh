#!/usr/bin/env bash
# Install what a fresh Debian/Ubuntu machine lacks to run (and, with --test, to test) the archive:
# system packages through apt when missing, uv, and the locked Python environment.
# Safe to run again: it only installs what is missing.
set -euo pipefail

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- system packages ---------------------------------------------------------------------------
# package:probe pairs; a package is installed when its probe (a file or command) is missing.
packages=(
  "tesseract-ocr:/usr/bin/tesseract"
  "tesseract-ocr-eng:/usr/share/tesseract-ocr/5/tessdata/eng.traineddata"
  "tesseract-ocr-chi-sim:/usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata"
  "tesseract-ocr-chi-tra:/usr/share/tesseract-ocr/5/tessdata/chi_tra.traineddata"
  "tesseract-ocr-osd:/usr/share/tesseract-ocr/5/tessdata/osd.traineddata"
  "openssl:/usr/bin/openssl"
  # Office renditions (DOCX, DOC, XLSX, ODT, ODS): LibreOffice without its GUI, and a CJK font
  # so that Chinese documents are drawn with their characters.
  "libreoffice-core-nogui:/usr/lib/libreoffice/program/soffice.bin"
  "libreoffice-writer-nogui:/usr/lib/libreoffice/program/libswlo.so"
  "libreoffice-calc-nogui:/usr/lib/libreoffice/program/libsclo.so"
  "fonts-noto-cjk:/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
  # OFD renditions draw the OFD's text in embedded TrueType fonts.
  "fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
  "fonts-droid-fallback:/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
  # The 四性检测 at filing scans the package with ClamAV (signatures: freshclam, or
  # ARCHIVE_CLAMAV_DATABASE where the machine does not reach the internet).
  "clamav:/usr/bin/clamscan"
)
if [ "$want_test" = 1 ]; then
  # The browser tests drive Debian's chromium through Playwright (never a downloaded browser).
  packages+=(
    "chromium:/usr/bin/chromium"
    # ARCHIVE_CLAMAV_SOCKET is tested against a real clamd started by the suite.
    "clamav-daemon:/usr/sbin/clamd"
  )
fi
missing=()
for entry in "${packages[@]}"; do
  pkg="${entry%%:*}"
  probe="${entry#*:}"
  [ -e "$probe" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "please install these packages with your system's package manager: ${missing[*]}"
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { say "run as root or install sudo to install: ${missing[*]}"; exit 1; }
    sudo="sudo"
  fi
  say "installing system packages: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- uv ----------------------------------------------------------------------------------------
# From PyPI into a private virtual environment: works where the astral.sh installer cannot be
# reached and where the system Python refuses pip installs (PEP 668).
if ! command -v uv >/dev/null 2>&1; then
  tools="${XDG_DATA_HOME:-$HOME/.local/share}/contract-archive-tools"
  if [ ! -x "$tools/bin/uv" ]; then
    say "installing uv into $tools"
    python3 -m venv "$tools" 2>/dev/null || {
      say "python3 -m venv failed: installing python3-venv"
      ${sudo:-} apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$tools"
    }
    "$tools/bin/pip" install -q --disable-pip-version-check uv
  fi
  export PATH="$tools/bin:$PATH"
fi

# --- the locked Python environment -------------------------------------------------------------
# Compiled bytecode: without it every command pays for compiling what it imports on its first
# runs (`contract-archive --help` took 3.1 s instead of 1.3 s).
export UV_COMPILE_BYTECODE=1
say "syncing the Python environment from uv.lock"
uv sync --locked --quiet
