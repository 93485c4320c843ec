/* walk.c - iterative directory walks with bounded fds and a deadline (walk.h).
 *
 * The walk keeps a stack of frames, one per directory being read. Children
 * are stat'ed and opened relative to their parent's fd with
 * AT_SYMLINK_NOFOLLOW / O_NOFOLLOW, so no path component is ever resolved
 * twice and a symlink swapped in mid-walk is never followed. At most
 * WALK_MAX_OPEN directories stay open: when a deeper one is needed, the
 * shallowest open frame reads the rest of its entries into memory and
 * closes its stream (as glibc's nftw does); climbing back to it reopens it
 * from the nearest open ancestor, checking device and inode on the way.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sm/rfc3339.h"
#include "sm/walk.h"

/* Directories open at once per walk (the start directory included). */
#define WALK_MAX_OPEN 16

/* O_NONBLOCK: never wait on a fifo that someone swapped in for a directory. */
#define OPEN_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

_Static_assert(WALK_MAX_OPEN >= 3, "the top frame and the start directory stay open");

struct frame {
	DIR *dir;      /* the stream while entries are read from it */
	int fd;        /* dirfd(dir), an fd reopened for a read-ahead frame, or -1 */
	char **names;  /* entries read ahead when the stream was closed */
	size_t nnames; /* how many of them */
	size_t next;   /* the next one to walk */
	struct stat st;
	size_t pathlen; /* length of the directory's path in walk.path */
	unsigned long long bytes;
	int error;
};

struct walk {
	const sm_walk_opts *opts;
	sm_walk_fn fn;
	void *ctx;
	sm_walk_stats *stats;
	dev_t dev; /* the start directory's filesystem */
	char *path;
	size_t pathcap;
	struct frame *frames;
	size_t nframes, framecap;
	size_t nopen; /* frames holding an fd */
	int error;    /* ENOMEM: the walk gave up */
};

void sm_walk_deadline(struct timespec *deadline, double seconds)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	if (!(seconds > 0))
		seconds = 0;
	if (seconds > 1e9) /* ~30 years: as good as none, and no overflow */
		seconds = 1e9;
	sm_timespec_add(deadline, seconds);
}

bool sm_walk_expired(const struct timespec *deadline)
{
	struct timespec now;

	if (!deadline)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* Put "/name" after the first len bytes of the path. */
static int path_set(struct walk *w, size_t len, const char *name)
{
	size_t n = strlen(name), need = len + n + 2;

	if (need > w->pathcap) {
		size_t cap = w->pathcap * 2 > need ? w->pathcap * 2 : need;
		char *p = realloc(w->path, cap);
		if (!p)
			return -1;
		w->path = p;
		w->pathcap = cap;
	}
	w->path[len] = '/';
	memcpy(w->path + len + 1, name, n + 1);
	return 0;
}

/* Pass one entry to the callback if opts select it. */
static int report(struct walk *w, enum sm_walk_kind kind, size_t depth, const struct stat *st,
                  size_t namepos, unsigned long long bytes, int error)
{
	static const int needs[] = {
	    [SM_WALK_FILE] = 0,
	    [SM_WALK_DIR] = SM_WALK_DIRS,
	    [SM_WALK_DIR_POST] = SM_WALK_POST,
	    [SM_WALK_NONFILE] = SM_WALK_OTHER,
	};
	sm_walk_entry e;
	int r;

	if (!w->fn || w->stats->stopped ||
	    (w->opts->max_depth > 0 && depth > (size_t)w->opts->max_depth))
		return SM_WALK_CONTINUE;
	if (needs[kind] && !(w->opts->flags & needs[kind]))
		return SM_WALK_CONTINUE;
	e.path = w->path;
	e.name = w->path + namepos;
	e.st = st;
	e.depth = (int)depth;
	e.kind = kind;
	e.bytes = bytes;
	e.error = error;
	r = w->fn(&e, w->ctx);
	if (r == SM_WALK_STOP)
		w->stats->stopped = true;
	return r;
}

/* Release a frame's stream, fd and read-ahead names. */
static void frame_close(struct walk *w, struct frame *f)
{
	if (f->dir || f->fd >= 0)
		w->nopen--;
	if (f->dir)
		closedir(f->dir);
	else if (f->fd >= 0)
		close(f->fd);
	f->dir = NULL;
	f->fd = -1;
	for (size_t i = f->next; i < f->nnames; i++)
		free(f->names[i]);
	free(f->names);
	f->names = NULL;
	f->nnames = f->next = 0;
}

static bool is_dot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* The frame's next entry name, or NULL at its end. A read-ahead name is
 * handed over: the caller copies it into the path and it is freed here. */
static const char *frame_next(struct frame *f, char **owned)
{
	*owned = NULL;
	if (f->dir) {
		struct dirent *d;
		while ((d = readdir(f->dir)) != NULL)
			if (!is_dot(d->d_name))
				return d->d_name;
		return NULL; /* end, or a read error: either way nothing more to walk */
	}
	if (f->next < f->nnames) {
		*owned = f->names[f->next];
		f->names[f->next++] = NULL;
		return *owned;
	}
	return NULL;
}

/* Read the rest of a frame's stream into memory and close it. */
static int frame_read_ahead(struct walk *w, struct frame *f)
{
	struct dirent *d;
	size_t cap = 0;

	while ((d = readdir(f->dir)) != NULL) {
		if (is_dot(d->d_name))
			continue;
		if (f->nnames == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **p = realloc(f->names, ncap * sizeof *p);
			if (!p)
				return -1;
			f->names = p;
			cap = ncap;
		}
		if (!(f->names[f->nnames] = strdup(d->d_name)))
			return -1;
		f->nnames++;
	}
	closedir(f->dir);
	f->dir = NULL;
	f->fd = -1;
	w->nopen--;
	return 0;
}

/* Open name under parent as a directory, as the entry lstat said it was. */
static int open_dir_at(int parent, const char *name, const struct stat *expect)
{
	struct stat st;
	int fd = openat(parent, name, OPEN_DIR_FLAGS);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_dev != expect->st_dev || st.st_ino != expect->st_ino) {
		close(fd);
		errno = ESTALE; /* replaced since it was stat'ed */
		return -1;
	}
	return fd;
}

/* Reopen the top frame, whose fd was closed to bound open fds, walking down
 * from the nearest open ancestor; keeps the deepest of those fds open. */
static int frame_reopen(struct walk *w)
{
	size_t top = w->nframes - 1, j = top, slots;
	int prev;
	bool prev_owned = false;

	while (w->frames[j].fd < 0)
		j--; /* the start directory is never closed */
	slots = w->nopen < WALK_MAX_OPEN ? WALK_MAX_OPEN - w->nopen : 1;
	prev = w->frames[j].fd;
	for (size_t i = j + 1; i <= top; i++) {
		struct frame *f = &w->frames[i];
		size_t start = w->frames[i - 1].pathlen + 1;
		char saved = w->path[f->pathlen];
		int fd, e;

		w->path[f->pathlen] = '\0';
		fd = open_dir_at(prev, w->path + start, &f->st);
		e = errno;
		w->path[f->pathlen] = saved;
		if (prev_owned)
			close(prev);
		if (fd < 0) {
			errno = e;
			return -1;
		}
		prev = fd;
		prev_owned = top - i >= slots;
		if (!prev_owned) {
			f->fd = fd;
			w->nopen++;
		}
	}
	return 0;
}

/* Make room for one more open directory. */
static int make_room(struct walk *w)
{
	if (w->nopen < WALK_MAX_OPEN)
		return 0;
	/* Open frames are the start directory and the deepest ones: close the
	 * shallowest of those, never the top (its fd opens the child). */
	for (size_t i = 1; i + 1 < w->nframes; i++) {
		struct frame *f = &w->frames[i];
		if (f->dir)
			return frame_read_ahead(w, f);
		if (f->fd >= 0) {
			close(f->fd);
			f->fd = -1;
			w->nopen--;
			return 0;
		}
	}
	return 0;
}

/* Enter the directory named at path[namepos...], stat'ed as st. */
static int push(struct walk *w, size_t namepos, const struct stat *st)
{
	struct frame *top, *f;
	int fd;
	DIR *dir;

	if (w->nframes == w->framecap) {
		size_t cap = w->framecap ? w->framecap * 2 : 16;
		struct frame *p = realloc(w->frames, cap * sizeof *p);
		if (!p)
			return -1;
		w->frames = p;
		w->framecap = cap;
	}
	if (make_room(w) < 0)
		return -1;
	top = &w->frames[w->nframes - 1];
	f = &w->frames[w->nframes];
	memset(f, 0, sizeof *f);
	f->fd = -1;
	f->st = *st;
	f->pathlen = namepos + strlen(w->path + namepos);
	w->nframes++;
	fd = open_dir_at(top->fd, w->path + namepos, st);
	if (fd >= 0 && !(dir = fdopendir(fd))) {
		int e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	if (fd < 0) {
		f->error = errno;
		w->stats->unreadable++;
		return 0; /* an empty frame: popped at once, with its error */
	}
	f->dir = dir;
	f->fd = fd;
	w->nopen++;
	return 0;
}

/* Leave the top directory: its SM_WALK_DIR_POST call, bytes to the parent. */
static void pop(struct walk *w)
{
	struct frame *f = &w->frames[w->nframes - 1];

	frame_close(w, f);
	if (w->nframes > 1) {
		struct frame *parent = &w->frames[w->nframes - 2];
		w->path[f->pathlen] = '\0';
		report(w, SM_WALK_DIR_POST, w->nframes - 1, &f->st, parent->pathlen + 1, f->bytes,
		       f->error);
		parent->bytes += f->bytes;
		w->path[parent->pathlen] = '\0';
	}
	w->nframes--;
}

/* One entry of the top directory. */
static int visit(struct walk *w, const char *name)
{
	struct frame *top = &w->frames[w->nframes - 1];
	size_t namepos = top->pathlen + 1, depth = w->nframes;
	const char *child;
	struct stat st;

	if (path_set(w, top->pathlen, name) < 0)
		return -1;
	child = w->path + namepos;
	if (fstatat(top->fd, child, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) /* gone since readdir: not an error */
			w->stats->unreadable++;
		return 0;
	}
	if (st.st_dev != w->dev) {
		w->stats->other_fs++;
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		unsigned long long size = st.st_size > 0 ? (unsigned long long)st.st_size : 0;
		w->stats->files++;
		w->stats->bytes += size;
		top->bytes += size;
		report(w, SM_WALK_FILE, depth, &st, namepos, 0, 0);
	} else if (S_ISDIR(st.st_mode)) {
		w->stats->dirs++;
		if (report(w, SM_WALK_DIR, depth, &st, namepos, 0, 0) != SM_WALK_CONTINUE)
			return 0;
		return push(w, namepos, &st);
	} else {
		report(w, SM_WALK_NONFILE, depth, &st, namepos, 0, 0);
	}
	return 0;
}

static int walk_start(struct walk *w, const char *dir)
{
	size_t len = strlen(dir);
	struct frame *root;
	int fd;

	/* A trailing slash would make open() follow a final symlink. */
	while (len > 1 && dir[len - 1] == '/')
		len--;
	w->pathcap = len + 256;
	w->framecap = 16;
	w->path = malloc(w->pathcap);
	w->frames = calloc(w->framecap, sizeof *w->frames);
	if (!w->path || !w->frames) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(w->path, dir, len);
	w->path[len] = '\0';
	fd = open(w->path, OPEN_DIR_FLAGS);
	root = &w->frames[0];
	if (fd < 0 || fstat(fd, &root->st) < 0 || !(root->dir = fdopendir(fd))) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	if (strcmp(w->path, "/") == 0) { /* children are "/x", not "//x" */
		w->path[0] = '\0';
		len = 0;
	}
	root->fd = fd;
	root->pathlen = len;
	w->dev = root->st.st_dev;
	w->nframes = 1;
	w->nopen = 1;
	return 0;
}

int sm_walk(const char *dir, const sm_walk_opts *opts, sm_walk_fn fn, void *ctx,
            sm_walk_stats *stats)
{
	static const sm_walk_opts defaults;
	sm_walk_stats local = {0};
	struct walk w = {.opts = opts ? opts : &defaults, .fn = fn, .ctx = ctx};
	int rc = 0;

	w.stats = stats ? stats : &local;
	memset(w.stats, 0, sizeof *w.stats);
	if (walk_start(&w, dir) < 0) {
		int e = errno;
		free(w.path);
		free(w.frames);
		errno = e;
		return -1;
	}
	while (w.nframes > 0 && !w.stats->stopped) {
		struct frame *top = &w.frames[w.nframes - 1];
		char *owned;
		const char *name;

		if (sm_walk_expired(w.opts->deadline)) {
			w.stats->cut_short = true;
			break;
		}
		name = frame_next(top, &owned);
		if (!name) {
			pop(&w);
			continue;
		}
		if (top->fd < 0 && frame_reopen(&w) < 0) {
			top->error = errno;
			w.stats->unreadable++;
			free(owned);
			pop(&w);
			continue;
		}
		rc = visit(&w, name);
		free(owned);
		if (rc < 0) {
			w.error = ENOMEM;
			break;
		}
	}
	/* Cut short or stopped: close what is open; the post calls of a cut
	 * walk still report the partial sizes. */
	while (w.nframes > 0)
		pop(&w);
	free(w.path);
	free(w.frames);
	if (w.error) {
		errno = w.error;
		return -1;
	}
	return 0;
}

int sm_walk_size(const char *dir, const struct timespec *deadline, unsigned long long *bytes,
                 sm_walk_stats *stats)
{
	sm_walk_opts opts = {.deadline = deadline};
	sm_walk_stats local = {0};
	int rc;

	if (!stats)
		stats = &local;
	rc = sm_walk(dir, &opts, NULL, NULL, stats);
	*bytes = stats->bytes;
	return rc;
}
