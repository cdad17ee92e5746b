/* SPDX-License-Identifier: MIT */
/*
 * CO-RE relocations need the running kernel's types. Reading all of
 * /sys/kernel/btf/vmlinux (5 MiB, 100k+ types) took ~80 ms of a ~200 ms
 * start, more than the verifier. A BPF object relocates against a dozen of
 * them, so `bpftool gen min_core_btf` (the "BTFGen" method) writes just those
 * once, into a file of a kilobyte or two that libbpf reads instead
 * (btf_custom_path).
 *
 * An entry is named after a digest of the kernel's identity and the object's
 * bytes, and holds that digest and one of its own payload: a new kernel or a
 * new plainsight build misses, and a damaged file fails its digest and is
 * rebuilt. Only files owned by us, in a directory nobody else may write, are
 * read: the types decide where the programs read kernel memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "cache_file.h"
#include "core_btf.h"
#include "log.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"
#define KERNEL_NOTES "/sys/kernel/notes"
#define NT_GNU_BUILD_ID 3
#define ENTRY_MAGIC "PSCORE1\n"
/* a minimal BTF is a few KiB; anything near this is not one */
#define PAYLOAD_MAX (16u << 20)

struct entry_header {
	char magic[8];
	uint64_t key;                   /* kernel identity and object */
	uint64_t digest;                /* of the payload that follows */
	uint64_t payload_size;
};

extern char **environ;

/* The GNU build id of the running kernel, from its ELF notes; 0 when found. */
static int kernel_build_id(uint64_t *hash)
{
	uint8_t *notes;
	size_t size, off = 0;
	int err = ps_read_path_all(KERNEL_NOTES, 1u << 20, &notes, &size);

	if (err)
		return err;
	err = -ENOENT;
	while (off + 12 <= size) {
		uint32_t namesz, descsz, type;
		size_t name_off = off + 12, desc_off;

		memcpy(&namesz, notes + off, 4);
		memcpy(&descsz, notes + off + 4, 4);
		memcpy(&type, notes + off + 8, 4);
		desc_off = name_off + ((namesz + 3u) & ~3u);
		if (desc_off < name_off || desc_off + descsz > size || desc_off + descsz < desc_off)
			break;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(notes + name_off, "GNU", 4) == 0 && descsz) {
			*hash = ps_fnv1a(*hash, notes + desc_off, descsz);
			err = 0;
			break;
		}
		off = desc_off + ((descsz + 3u) & ~3u);
	}
	free(notes);
	return err;
}

/* Without a build id, the types themselves say which kernel this is (~8 ms). */
static int kernel_btf_digest(uint64_t *hash)
{
	uint8_t buf[65536];
	int fd = open(VMLINUX_BTF, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*hash = ps_fnv1a(*hash, buf, (size_t)n);
	close(fd);
	return n < 0 ? -EIO : 0;
}

static int entry_key(const void *obj, size_t size, uint64_t *key)
{
	struct utsname uts;
	struct stat st;
	uint64_t btf_size, hash = PS_FNV_OFFSET;
	int err;

	if (uname(&uts) || stat(VMLINUX_BTF, &st))
		return -errno;
	btf_size = (uint64_t)st.st_size;
	hash = ps_fnv1a(hash, ENTRY_MAGIC, sizeof(ENTRY_MAGIC));
	hash = ps_fnv1a(hash, uts.release, strlen(uts.release) + 1);
	hash = ps_fnv1a(hash, uts.version, strlen(uts.version) + 1);
	hash = ps_fnv1a(hash, uts.machine, strlen(uts.machine) + 1);
	hash = ps_fnv1a(hash, &btf_size, sizeof(btf_size));
	if (kernel_build_id(&hash) != 0) {
		err = kernel_btf_digest(&hash);
		if (err)
			return err;
	}
	*key = ps_fnv1a(hash, obj, size);
	return 0;
}

/* Returns the entry's payload when it is whole and made for key. */
static int read_entry(const char *path, uint64_t key, uint8_t **payload, size_t *payload_size)
{
	struct entry_header hdr;
	uint8_t *data;
	size_t size;
	int err = ps_cache_read_owned(path, sizeof(hdr) + PAYLOAD_MAX, &data, &size);

	if (err == -EPERM)
		ps_debug("CO-RE types: not using %s: owned by another user or writable by others", path);
	if (err)
		return err;
	err = -EBADMSG;
	if (size < sizeof(hdr))
		goto bad;
	memcpy(&hdr, data, sizeof(hdr));
	if (memcmp(hdr.magic, ENTRY_MAGIC, sizeof(hdr.magic)) || hdr.key != key ||
	    hdr.payload_size != size - sizeof(hdr) ||
	    hdr.digest != ps_fnv1a(PS_FNV_OFFSET, data + sizeof(hdr), size - sizeof(hdr)))
		goto bad;
	memmove(data, data + sizeof(hdr), size - sizeof(hdr));
	*payload = data;
	*payload_size = size - sizeof(hdr);
	return 0;
bad:
	free(data);
	return err;
}

/* Written whole under a temporary name, then renamed: readers never see half. */
static int write_entry(const char *dir, const char *path, uint64_t key, const uint8_t *payload,
		       size_t payload_size)
{
	struct entry_header hdr = {
		.key = key,
		.digest = ps_fnv1a(PS_FNV_OFFSET, payload, payload_size),
		.payload_size = payload_size,
	};

	memcpy(hdr.magic, ENTRY_MAGIC, sizeof(hdr.magic));
	return ps_cache_write_atomic(dir, path, 0644, &hdr, sizeof(hdr), payload, payload_size);
}

static int spawn_wait(const char *file, char *const argv[], const posix_spawn_file_actions_t *actions)
{
	pid_t pid;
	int status, err = posix_spawnp(&pid, file, actions, NULL, argv, environ);

	if (err)
		return -err;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

/* bpftool is in root's PATH on Debian only when /usr/sbin is. */
static int run_bpftool(const char *obj_path, const char *out_path)
{
	char *argv[] = { "bpftool", "gen", "min_core_btf", VMLINUX_BTF, (char *)out_path, (char *)obj_path, NULL };
	posix_spawn_file_actions_t actions;
	int err;

	if (posix_spawn_file_actions_init(&actions))
		return -ENOMEM;
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (!ps_log_debug_enabled())
		posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	err = spawn_wait("bpftool", argv, &actions);
	if (err == -ENOENT)
		err = spawn_wait("/usr/sbin/bpftool", argv, &actions);
	posix_spawn_file_actions_destroy(&actions);
	return err;
}

/* Runs bpftool on a copy of the object in a private directory under dir. */
static int build_payload(const char *dir, const void *obj, size_t size, uint8_t **payload, size_t *payload_size)
{
	char work[PATH_MAX], obj_path[PATH_MAX], out_path[PATH_MAX];
	int fd, err;

	if (snprintf(work, sizeof(work), "%s/.build-XXXXXX", dir) >= (int)sizeof(work))
		return -ENAMETOOLONG;
	if (!mkdtemp(work))
		return -errno;
	if (snprintf(obj_path, sizeof(obj_path), "%s/object.bpf.o", work) >= (int)sizeof(obj_path) ||
	    snprintf(out_path, sizeof(out_path), "%s/core.btf", work) >= (int)sizeof(out_path)) {
		rmdir(work);
		return -ENAMETOOLONG;
	}
	fd = open(obj_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	err = fd < 0 ? -errno : ps_write_fd_all(fd, obj, size);
	if (fd >= 0)
		close(fd);
	if (!err) {
		err = run_bpftool(obj_path, out_path);
		if (err == -ENOENT)
			ps_debug("CO-RE types: bpftool not found (it builds the cache; Debian package bpftool)");
		else if (err)
			ps_debug("CO-RE types: bpftool gen min_core_btf failed (%s)", strerror(-err));
	}
	if (!err)
		err = ps_read_path_all(out_path, PAYLOAD_MAX, payload, payload_size);
	unlink(out_path);
	unlink(obj_path);
	rmdir(work);
	return err;
}

/* libbpf opens a path: the verified bytes go to a memory file, not re-read from disk. */
static int publish(const uint8_t *payload, size_t payload_size, struct ps_core_btf *core)
{
	int fd = memfd_create("plainsight-core-btf", MFD_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	err = ps_write_fd_all(fd, payload, payload_size);
	if (err) {
		close(fd);
		return err;
	}
	core->fd = fd;
	snprintf(core->path, sizeof(core->path), "/proc/self/fd/%d", fd);
	return 0;
}

int ps_core_btf_get(const char *cache_dir, const char *name, const void *obj, size_t size,
		    struct ps_core_btf *core)
{
	uint64_t key;
	uint8_t *payload = NULL;
	size_t payload_size = 0;
	int err;

	core->fd = -1;
	core->path[0] = core->entry[0] = '\0';
	if (!cache_dir || !*cache_dir) {
		ps_debug("CO-RE types: no cache (--btf-cache none): reading the kernel's whole BTF");
		return -ENOENT;
	}
	err = entry_key(obj, size, &key);
	if (err) {
		ps_debug("CO-RE types: cannot identify the kernel (%s): reading its whole BTF", strerror(-err));
		return err;
	}
	if (snprintf(core->entry, sizeof(core->entry), "%s/%s-%016llx.btf", cache_dir, name,
		     (unsigned long long)key) >= (int)sizeof(core->entry))
		return -ENAMETOOLONG;
	err = ps_cache_dir_make(cache_dir);
	if (err) {
		ps_debug("CO-RE types: cache directory %s unusable (%s): reading the kernel's whole BTF", cache_dir,
			 strerror(-err));
		core->entry[0] = '\0';
		return err;
	}
	err = read_entry(core->entry, key, &payload, &payload_size);
	if (!err) {
		ps_debug("CO-RE types: from the cache, %s (%zu bytes)", core->entry, payload_size);
	} else {
		if (err != -ENOENT)
			ps_debug("CO-RE types: cache entry %s is stale or damaged (%s): rebuilding it", core->entry,
				 strerror(-err));
		err = build_payload(cache_dir, obj, size, &payload, &payload_size);
		if (err) {
			ps_debug("CO-RE types: reading the kernel's whole BTF");
			core->entry[0] = '\0';
			return err;
		}
		err = write_entry(cache_dir, core->entry, key, payload, payload_size);
		if (err)
			ps_debug("CO-RE types: cannot save %s (%s)", core->entry, strerror(-err));
		else
			ps_debug("CO-RE types: built with bpftool and cached in %s (%zu bytes)", core->entry,
				 payload_size);
	}
	err = publish(payload, payload_size, core);
	free(payload);
	return err;
}

void ps_core_btf_forget(struct ps_core_btf *core)
{
	if (core->entry[0])
		unlink(core->entry);
	ps_core_btf_close(core);
}

void ps_core_btf_close(struct ps_core_btf *core)
{
	if (core->fd >= 0)
		close(core->fd);
	core->fd = -1;
	core->path[0] = '\0';
}
