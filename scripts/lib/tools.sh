# What the scripts need beyond the Swift toolchain, on a stock Debian 12 as on this machine's
# image: Debian packages installed when a command is missing, and the Python test tooling in a
# virtual environment of its own (Debian's python3 refuses `pip install` outside one, PEP 668).

apt_updated=""
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "$apt_updated" ]; then apt-get update -qq >&2; apt_updated=1; fi
    apt-get install -y -qq "$@" >&2
}

# ensure_commands COMMAND:PACKAGE ...: installs PACKAGE where COMMAND is not on the PATH.
ensure_commands() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]} from Debian's packages…" >&2
        apt_install "${missing[@]}"
    fi
}

# python_env: a virtual environment in .build/python, first on the PATH from now on.
python_env() {
    local venv="$PWD/.build/python"
    if [ ! -x "$venv/bin/pip" ]; then
        rm -rf "$venv"
        mkdir -p "$PWD/.build"
        # Debian's python3 makes a venv only with python3-venv (ensurepip) installed.
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            rm -rf "$venv"
            echo "installing python3-venv from Debian's packages…" >&2
            apt_install python3-venv
            python3 -m venv "$venv"
        fi
    fi
    export PATH="$venv/bin:$PATH"
    export VIRTUAL_ENV="$venv"
}

# python_packages MODULE:REQUIREMENT ...: pip-installs what the venv cannot import yet.
python_packages() {
    local pair missing=()
    for pair in "$@"; do
        python -c "import ${pair%%:*}" 2>/dev/null || missing+=("${pair#*:}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        pip install -q --disable-pip-version-check "${missing[@]}"
    fi
}
