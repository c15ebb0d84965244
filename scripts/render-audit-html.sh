#!/usr/bin/env bash
# Render the offline audit's HTML report in a real headless browser and save a screenshot.
# Needs Chromium (Debian: `apt-get install chromium`); run from the repository root after the
# README's set-up. Usage: scripts/render-audit-html.sh [OUT_DIR] [AUDIT ARGS...]
# (e.g. `--kubeconfig FILE` for the live audit with its per-class validation charts)
set -euo pipefail
out="${1:-audit-render}"
shift || true
mkdir -p "$out"
fedfleet="${FEDFLEET:-.venv/bin/fedfleet}"
"$fedfleet" audit --format html --output "$out/audit.html" "$@" || true   # exit 1 only means "not compliant"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [ -z "$browser" ]; then
  echo "no Chromium found: apt-get install chromium" >&2
  exit 2
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# The page loads nothing from the network; the flags keep Chromium itself from trying either.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1280,2200 \
  --screenshot="$out/audit.png" "file://$(realpath "$out/audit.html")" 2>/dev/null
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
  --user-data-dir="$profile" --dump-dom "file://$(realpath "$out/audit.html")" 2>/dev/null > "$out/dom.html"
tables=$(grep -o "<table" "$out/dom.html" | wc -l)
rects=$(grep -o "<rect" "$out/dom.html" | wc -l)
echo "rendered $out/audit.html: $tables tables, $rects chart bars; screenshot $out/audit.png"
[ "$tables" -gt 0 ] && [ "$rects" -gt 0 ]
