/* SPDX-License-Identifier: MIT */
/* Opening output files: runtime/output/outfile.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "check.h"
#include "outfile.h"

static char dir[64];
static char path[96];
static char other_path[96];

static void make_paths(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ps_outfile_test.%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/out", dir);
	snprintf(other_path, sizeof(other_path), "%s/other", dir);
	mkdir(dir, 0700);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
	CHECK_INT(fchmod(fd, mode), 0);
	close(fd);
}

static long long file_size(const char *name)
{
	struct stat st;

	return stat(name, &st) == 0 ? (long long)st.st_size : -1;
}

static int file_mode(const char *name)
{
	struct stat st;

	return stat(name, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void created_private_and_removed_on_discard(void)
{
	struct ps_outfile file;

	unlink(path);
	CHECK_INT(ps_outfile_open(&file, path), 0);
	CHECK(file.created);
	CHECK_INT(file_mode(path), 0600);
	ps_outfile_discard(&file);
	CHECK_INT(access(path, F_OK), -1);
}

/* An older file keeps its content until writing starts, and a failed run does not remove it. */
static void existing_file_made_private_emptied_only_at_begin(void)
{
	struct ps_outfile file;

	write_file(path, "from an earlier run\n", 0644);
	CHECK_INT(ps_outfile_open(&file, path), 0);
	CHECK(!file.created);
	CHECK_INT(file_mode(path), 0600);
	CHECK_INT(file_size(path), 20);
	ps_outfile_discard(&file);
	CHECK_INT(file_size(path), 20);

	CHECK_INT(ps_outfile_open(&file, path), 0);
	CHECK_INT(ps_outfile_begin(&file), 0);
	CHECK_INT(file_size(path), 0);
	ps_outfile_discard(&file);
	unlink(path);
}

static void symlink_refused(void)
{
	struct ps_outfile file;

	write_file(other_path, "target\n", 0644);
	unlink(path);
	CHECK_INT(symlink(other_path, path), 0);
	CHECK_INT(ps_outfile_open(&file, path), -ELOOP);
	CHECK_INT(file.fd, -1);
	CHECK_INT(file_mode(other_path), 0644);
	CHECK_INT(file_size(other_path), 7);
	/* a dangling link is no way to create a file elsewhere either */
	unlink(other_path);
	CHECK_INT(ps_outfile_open(&file, path), -ELOOP);
	CHECK_INT(access(other_path, F_OK), -1);
	unlink(path);
}

static void foreign_file_refused(void)
{
	struct ps_outfile file;

	if (geteuid() != 0) {
		printf("SKIP foreign_file_refused: needs root to give a file away\n");
		return;
	}
	write_file(path, "theirs\n", 0666);
	CHECK_INT(chown(path, 65534, 65534), 0);
	CHECK_INT(ps_outfile_open(&file, path), -EPERM);
	CHECK_INT(file_mode(path), 0666);
	CHECK_INT(file_size(path), 7);
	unlink(path);
}

static void missing_directory(void)
{
	struct ps_outfile file;

	CHECK_INT(ps_outfile_open(&file, "/nonexistent-dir/out.txt"), -ENOENT);
	CHECK_INT(file.fd, -1);
}

/* A character device is written as it is: /dev/null keeps its mode. */
static void character_device_taken_as_is(void)
{
	struct ps_outfile file;
	int mode = file_mode("/dev/null");

	CHECK_INT(ps_outfile_open(&file, "/dev/null"), 0);
	CHECK_INT(ps_outfile_begin(&file), 0);
	CHECK_INT(file_mode("/dev/null"), mode);
	ps_outfile_discard(&file);
	CHECK_INT(access("/dev/null", F_OK), 0);
}

static struct ps_options options(const char *output_path, const char *keylog_path)
{
	return (struct ps_options){ .output_path = output_path, .keylog_path = keylog_path };
}

/* All or nothing: a key log that cannot be opened takes back the output file just created. */
static void outfiles_all_or_nothing(void)
{
	struct ps_options opts = options(path, "/nonexistent-dir/keys");
	struct ps_outfiles files;

	unlink(path);
	CHECK(ps_outfiles_open(&opts, &files) < 0);
	CHECK_INT(access(path, F_OK), -1);

	opts = options(path, other_path);
	unlink(other_path);
	CHECK_INT(ps_outfiles_open(&opts, &files), 0);
	CHECK_INT(access(path, F_OK), 0);
	CHECK_INT(access(other_path, F_OK), 0);
	ps_outfiles_discard(&files);
	CHECK_INT(access(path, F_OK), -1);
	CHECK_INT(access(other_path, F_OK), -1);

	/* records and keys in one file would interleave */
	opts = options(path, path);
	CHECK_INT(ps_outfiles_open(&opts, &files), -EINVAL);
	CHECK_INT(access(path, F_OK), -1);
}

int main(void)
{
	make_paths();
	TEST(created_private_and_removed_on_discard);
	TEST(existing_file_made_private_emptied_only_at_begin);
	TEST(symlink_refused);
	TEST(foreign_file_refused);
	TEST(missing_directory);
	TEST(character_device_taken_as_is);
	TEST(outfiles_all_or_nothing);
	unlink(path);
	unlink(other_path);
	rmdir(dir);
	return TEST_EXIT();
}
