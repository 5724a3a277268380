#!/bin/sh
# Installs the Debian packages the build, `make run` and the tests need.
# Idempotent and quick when nothing is missing. Run as root (CI and `make run`
# are); without root it only reports what is missing.
set -eu

PACKAGES="
build-essential pkg-config clang-format
libh2o-evloop-dev libssl-dev libcurl4-openssl-dev libcjson-dev libmariadb-dev
libturbojpeg0-dev libpng-dev libsystemd-dev
mariadb-server mariadb-client
debhelper dpkg-dev
openssl curl ca-certificates
python3 python3-pytest python3-requests python3-pymysql python3-cryptography
chromium fonts-wqy-microhei
"
[ "${WITH_BENCH:-0}" = 1 ] && PACKAGES="$PACKAGES wrk nghttp2-client sysbench"
# The bench's Node peer (only when node/npm are missing), and its profilers.
[ "${WITH_PEER:-0}" = 1 ] && PACKAGES="$PACKAGES nodejs npm"
[ "${WITH_PROFILE:-0}" = 1 ] && PACKAGES="$PACKAGES linux-perf strace valgrind"
# make fuzz: clang with libFuzzer and the sanitizers' runtime (clang 14).
[ "${WITH_FUZZ:-0}" = 1 ] && PACKAGES="$PACKAGES clang libclang-rt-14-dev"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The staff console is built with Node.js and npm (console/, Vite 6 runs on
# Debian 12's Node 18): Debian's nodejs and npm, unless a Node.js with npm is
# already installed from elsewhere (whose package conflicts with Debian's npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
# The server package must not start the system MariaDB: we run our own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $missing
