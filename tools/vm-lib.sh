# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this
# Shared helpers for tools/vm-fetch and tools/vm-run (the blkxlate VM lab).
# Sourced, not executed. Needs bash.

VM_CACHE=${BLKXLATE_CACHE:-/var/cache/blkxlate}
VM_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
VM_MIRROR=${BLKXLATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

vm_prog=${0##*/}

say() { printf '%s: %s\n' "$vm_prog" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$vm_prog" "$*" >&2
	exit "${VM_DIE_STATUS:-1}"
}

# vm_suite ALIAS: the Debian suite whose current kernel the alias stands for.
vm_suite() {
	case "$1" in
	7.3) echo trixie-backports ;;
	6.12) echo trixie ;;
	*) return 1 ;;
	esac
}

# vm_manifest ALIAS: the manifest of the kernel the alias currently points to.
vm_manifest() {
	printf '%s/current-%s/manifest\n' "$VM_CACHE" "$1"
}

# vm_norm_path PATH: where a host file lands in the initramfs. The initramfs
# has a merged /usr (/bin, /sbin, /lib, /lib64 are links into /usr), so host
# paths under those top-level folders are stored under /usr.
vm_norm_path() {
	case "$1" in
	/bin/* | /sbin/* | /lib/* | /lib64/*) printf '/usr%s\n' "$1" ;;
	*) printf '%s\n' "$1" ;;
	esac
}

# vm_is_elf FILE: true for an ELF file.
vm_is_elf() {
	[ -f "$1" ] && [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]
}

# vm_ldd_paths FILE: the shared libraries (and the ELF interpreter) that a
# dynamic executable needs, one absolute path a line. Prints nothing for a
# static or non-ELF file. Fails when ldd reports a library as not found.
vm_ldd_paths() {
	local out
	vm_is_elf "$1" || return 0
	out=$(ldd "$1" 2>/dev/null) || return 0 # static, or not for this machine
	if printf '%s\n' "$out" | grep -q 'not found'; then
		printf '%s\n' "$out" | grep 'not found' >&2
		return 1
	fi
	printf '%s\n' "$out" | awk '
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }'
}

# vm_copy_file SRC ROOT: copy SRC (links followed) to ROOT/<normalised SRC>.
vm_copy_file() {
	local dst
	dst="$2$(vm_norm_path "$1")"
	[ -e "$dst" ] && return 0
	mkdir -p "${dst%/*}"
	cp -L "$1" "$dst"
}

# vm_lock: serialise cache updates between concurrent vm-fetch/vm-run calls.
vm_lock() {
	mkdir -p "$VM_CACHE" || die "cannot create the cache folder $VM_CACHE (set BLKXLATE_CACHE)"
	exec 9>"$VM_CACHE/.lock" || die "cannot open $VM_CACHE/.lock"
	if ! flock -n 9; then
		say "waiting for another vm-fetch to finish with $VM_CACHE"
		flock 9 || die "cannot lock $VM_CACHE/.lock"
	fi
}

# vm_quote WORD: WORD quoted for a POSIX shell.
vm_quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}
