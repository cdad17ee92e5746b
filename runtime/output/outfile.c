/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "log.h"
#include "outfile.h"

#define PRIVATE_MODE 0600

/*
 * O_EXCL first, to know whether this run created the file; O_NOFOLLOW on
 * both tries, so that a link planted where the output goes is never followed
 * (with O_EXCL a link fails with EEXIST, then ELOOP on the second try).
 */
static int open_or_create(const char *path, bool *created)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, PRIVATE_MODE);

	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void report_open_error(const char *path, int err)
{
	struct stat st;

	if (err == -ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		ps_error("refusing to write %s: it is a symbolic link", path);
	else
		ps_error("cannot open %s for writing: %s", path, strerror(-err));
}

/*
 * A file another user owns may be one they can read, or reopen later; a
 * pipe too. Character devices (/dev/null, a terminal) are taken as they are:
 * only root makes them, and their mode is not ours to change.
 */
static int check_and_privatize(int fd, const char *path, bool *regular)
{
	struct stat st;
	int err;

	if (fstat(fd, &st) != 0) {
		err = -errno;
		ps_error("cannot open %s for writing: %s", path, strerror(-err));
		return err;
	}
	*regular = S_ISREG(st.st_mode);
	if (S_ISCHR(st.st_mode))
		return 0;
	if (!*regular && !S_ISFIFO(st.st_mode)) {
		ps_error("refusing to write %s: it is neither a regular file, a pipe nor a character device", path);
		return -EINVAL;
	}
	if (st.st_uid != geteuid()) {
		ps_error("refusing to write %s: it belongs to uid %u, not to uid %u (remove it or choose another file)",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (*regular && (st.st_mode & 07777) != PRIVATE_MODE && fchmod(fd, PRIVATE_MODE) != 0) {
		err = -errno;
		ps_error("cannot make %s private (mode 0600): %s", path, strerror(-err));
		return err;
	}
	return 0;
}

int ps_outfile_open(struct ps_outfile *file, const char *path)
{
	int fd, err;

	*file = (struct ps_outfile){ .path = path, .fd = -1 };
	/* stdout gets a descriptor of its own: closing the writer leaves the C library's stdout alone. */
	if (!path) {
		file->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
		if (file->fd < 0) {
			err = -errno;
			ps_error("cannot write to stdout: %s", strerror(-err));
			return err;
		}
		return 0;
	}
	fd = open_or_create(path, &file->created);
	if (fd < 0) {
		report_open_error(path, fd);
		return fd;
	}
	file->fd = fd;
	err = check_and_privatize(fd, path, &file->regular);
	if (err)
		ps_outfile_discard(file);
	return err;
}

int ps_outfile_begin(struct ps_outfile *file)
{
	int err;

	if (file->regular && ftruncate(file->fd, 0) != 0) {
		err = -errno;
		ps_error("cannot empty %s: %s", file->path, strerror(-err));
		return err;
	}
	return 0;
}

void ps_outfile_discard(struct ps_outfile *file)
{
	if (file->fd >= 0)
		close(file->fd);
	file->fd = -1;
	if (file->created)
		unlink(file->path);
	file->created = false;
}

/* Two writers on one file would interleave records and keys. */
static bool same_regular_file(int fd_a, int fd_b)
{
	struct stat a, b;

	return fstat(fd_a, &a) == 0 && fstat(fd_b, &b) == 0 && S_ISREG(a.st_mode) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int ps_outfiles_open(const struct ps_options *opts, struct ps_outfiles *files)
{
	int err;

	files->keylog = (struct ps_outfile){ .fd = -1 };
	err = ps_outfile_open(&files->records, opts->output_path);
	if (!err && opts->keylog_path)
		err = ps_outfile_open(&files->keylog, opts->keylog_path);
	if (!err && files->keylog.fd >= 0 && same_regular_file(files->records.fd, files->keylog.fd)) {
		ps_error("-k %s is the file the records go to: give the key log a file of its own", opts->keylog_path);
		err = -EINVAL;
	}
	if (err)
		ps_outfiles_discard(files);
	return err;
}

void ps_outfiles_discard(struct ps_outfiles *files)
{
	ps_outfile_discard(&files->records);
	ps_outfile_discard(&files->keylog);
}
