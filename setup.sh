#!/usr/bin/env bash
# Sets up everything instrument needs on Debian/Ubuntu; safe to run again.
#   ./setup.sh            apt packages + .venv with the package and its test tools
# Afterwards: .venv/bin/instrument play   |   .venv/bin/python -m pytest
set -euo pipefail
cd "$(dirname "$0")"

apt_packages=(libfluidsynth3 fluidsynth fluid-soundfont-gm timgm6mb-soundfont
              libportaudio2 libsndfile1 jackd2 python3-venv)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing ${missing[*]}"
    # jackd2 asks about realtime priority; the answer does not matter for a dummy server.
    echo "jackd2 jackd/tweak_rt_limits boolean false" | $sudo debconf-set-selections
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
# The pinned CPU build first: a looser pin would pull a multi-gigabyte CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || "${pip[@]}" install "torch==2.13.0"
if ! .venv/bin/python -c "import instrument, rtmidi, fluidsynth, pytest" 2>/dev/null \
   || [ pyproject.toml -nt .venv/.installed ]; then
    "${pip[@]}" install -e ".[dev]"
    touch .venv/.installed
fi
# The live path's numba code (note path, arrangers, listener) is compiled once into numba's
# cache here, so that the first `instrument play` or `jam` (and every app a test starts)
# opens in seconds, not after one or two minutes.
.venv/bin/python -m instrument.live.warmcache
echo "setup: ready (.venv)"
