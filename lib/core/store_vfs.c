/* store_vfs.c - the store's SQLite VFS: the system's own (unix), but for the
 * writes to a WAL file, which are gathered and handed to the kernel in one
 * write(2) a commit.
 *
 * SQLite appends each frame to the WAL in two writes (its 24-byte header,
 * then the page), so a commit of seven pages cost fourteen system calls;
 * here it costs one. The frames of a transaction are kept in memory from
 * the first one and written out as soon as the commit frame's page has
 * been added, within that write call, so the commit learns of a failure
 * (a full disk) as before, and before the commit is published to other
 * connections (the WAL index header, written after the frames). A writer
 * appends only while it holds the WAL's write lock: frames left over when
 * the lock is let go (a transaction that spilled pages to the WAL and was
 * rolled back) are written out then too, before another writer may use
 * that part of the file, and so is anything pending when SQLite publishes
 * frames (its memory barrier before the WAL index's header). Any other
 * use of a WAL file (a read, a sync, its size, a truncation, closing it)
 * writes out what is pending first. A process killed with frames pending
 * had not committed them: the same as being killed between SQLite's own
 * writes.
 *
 * Reads, in a process that asks for it (sm_store_map_reads: the queue's
 * workers, which run long beside the handler and each other), are copied
 * out of a shared read-only mapping of the file, the database
 * and its WAL alike, rather than each read a pread(2). SQLite empties a
 * connection's page cache whenever another connection committed (it
 * cannot tell which pages changed), so a worker reads the pages it needs
 * again after each commit of the handler or of the other worker: about
 * seventeen system calls a drained item. A mapping sees another process's
 * writes at once, as a read does (one page cache). It covers the first
 * MAP_WINDOW bytes of the file whatever the file's size (a mapping past
 * the end is allowed; touching it is not), so it is made once and never
 * made again as the file grows, as SQLite's own mmap is (that halved the
 * drain). What is copied must lie within the file, else SIGBUS: a read
 * past the size last seen looks at the size again (an fstat), and so does
 * the first read after the process took a read lock (a transaction
 * begun), since a checkpoint may have truncated the WAL or the database
 * before, while no reader held it; within a transaction SQLite reads only
 * what its snapshot holds, which no one truncates. A file is opened once
 * more for its mapping and that descriptor is kept while a connection of
 * the process has the file open: closing any descriptor of a file lets go
 * of the process's POSIX locks on it, SQLite's included. The pages read
 * count in the process's resident size (they are the page cache's) until
 * it is idle (sm_store_map_idle lets go of them; more often, every
 * thousand reads or at every wait, the page faults cost more than the
 * reads saved). Figures: bench/README.md. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include "core/store_vfs.h"

/* At most this much pending: SQLite's unix VFS writes at most 128 KiB - 1
 * in one call (a larger count is taken modulo 128 KiB). */
#define GATHER_MAX     0x1ffff
#define FRAME_HDR      24                       /* a WAL frame's header */
#define WAL_WRITE_LOCK 0                        /* the WAL's write lock, as xShmLock numbers it */
#define WAL_READ_LOCK0 3                        /* the first of the read marks' locks */
#define MAP_WINDOW     ((sqlite3_int64)1 << 30) /* the part of a file read mapped */

/* A file mapped for reads, once a process (a file opened by several
 * connections has one), and the descriptor it was mapped from. */
struct mapping {
	dev_t dev;
	ino_t ino;
	int fd;
	const unsigned char *base; /* NULL: could not be mapped (reads as before) */
	unsigned refs;
	struct mapping *next;
};

struct vfile {
	sqlite3_file base;  /* our methods */
	sqlite3_file *real; /* the system VFS's file, right after this struct */
	const char *db;     /* the database's name: its own, or the WAL's database */
	bool wal;
	/* A WAL file's pending bytes, to be written at offset at; guarded by
	 * lock, as another connection of the process may write them out. */
	pthread_mutex_t lock;
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 at;
	bool commit_page_next; /* the last write was a commit frame's header */
	struct vfile *next;    /* the process's open WAL files */
	struct mapping *map;   /* NULL: reads are the system VFS's */
	sqlite3_int64 known;   /* the file's size when last looked at */
	unsigned known_at;     /* read_locks then */
};

/* A vfile padded so that the system's file after it is aligned. */
#define VFILE_SIZE ((sizeof(struct vfile) + 15) / 16 * 16)

static sqlite3_vfs vfs;
static pthread_mutex_t wals_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vfile *wals;
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapping *maps;
static atomic_bool map_reads;
static atomic_uint read_locks;     /* read locks taken: transactions begun */
static atomic_ullong mapped_reads; /* reads copied from a mapping */

static sqlite3_file *real(sqlite3_file *file)
{
	return ((struct vfile *)file)->real;
}

/* Write out f's pending bytes (f->lock held). */
static int flush(struct vfile *f)
{
	int rc = SQLITE_OK;

	if (f->len)
		rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->at);
	f->len = 0;
	f->commit_page_next = false;
	return rc;
}

static int flush_locked(struct vfile *f)
{
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = flush(f);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* Keep p for a write at off, after the pending bytes it continues; 0, or
 * -1 when it cannot be kept (it does not continue them, or no memory). */
static int gather(struct vfile *f, const void *p, size_t n, sqlite3_int64 off)
{
	if (f->len && off != f->at + (sqlite3_int64)f->len)
		return -1;
	if (f->len + n > GATHER_MAX)
		return -1;
	if (f->len + n > f->cap) {
		size_t cap = f->cap ? f->cap : 32 * 1024;
		unsigned char *grown;
		while (cap < f->len + n)
			cap *= 2;
		if (cap > GATHER_MAX)
			cap = GATHER_MAX;
		grown = realloc(f->buf, cap);
		if (!grown)
			return -1;
		f->buf = grown;
		f->cap = cap;
	}
	if (!f->len)
		f->at = off;
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int v_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off)
{
	struct vfile *f = (struct vfile *)file;
	int rc = SQLITE_OK;

	if (!f->wal)
		return f->real->pMethods->xWrite(f->real, p, n, off);
	pthread_mutex_lock(&f->lock);
	if (gather(f, p, (size_t)n, off) < 0) {
		/* Not kept with what is pending (the buffer full, or elsewhere):
		 * that goes out first, whether or not a commit frame's page is
		 * awaited; then this write is kept, or made at once. */
		bool commit_page = f->commit_page_next;
		rc = flush(f);
		f->commit_page_next = commit_page;
		if (rc == SQLITE_OK && gather(f, p, (size_t)n, off) < 0) {
			rc = f->real->pMethods->xWrite(f->real, p, n, off);
			f->commit_page_next = false;
			goto out;
		}
	}
	if (rc != SQLITE_OK)
		goto out;
	if (f->commit_page_next && n != FRAME_HDR) {
		/* The commit frame complete: the transaction's frames go out now,
		 * its failure the commit's. */
		rc = flush(f);
	} else {
		/* A frame header's second word is the database's size in pages
		 * after a commit, 0 in the other frames. */
		f->commit_page_next = n == FRAME_HDR && be32((const unsigned char *)p + 4) != 0;
	}
out:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* Copy n bytes at off from f's mapping: whether they were (else they are
 * read as before: past the window, the file's end, or not mapped). */
static bool read_mapped(struct vfile *f, void *p, int n, sqlite3_int64 off)
{
	unsigned locks = atomic_load_explicit(&read_locks, memory_order_relaxed);

	if (!f->map || !f->map->base || n <= 0 || off < 0 || off > MAP_WINDOW - n ||
	    !atomic_load_explicit(&map_reads, memory_order_relaxed))
		return false;
	if (f->known_at != locks || off + n > f->known) {
		sqlite3_int64 size;
		if (f->real->pMethods->xFileSize(f->real, &size) != SQLITE_OK)
			return false;
		f->known = size;
		f->known_at = locks;
	}
	if (off + n > f->known)
		return false;
	memcpy(p, f->map->base + off, (size_t)n);
	atomic_fetch_add_explicit(&mapped_reads, 1, memory_order_relaxed);
	return true;
}

static int v_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off)
{
	struct vfile *f = (struct vfile *)file;
	int rc = f->wal ? flush_locked(f) : SQLITE_OK;

	if (rc != SQLITE_OK || read_mapped(f, p, n, off))
		return rc;
	return f->real->pMethods->xRead(f->real, p, n, off);
}

static int v_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct vfile *f = (struct vfile *)file;
	int rc = f->wal ? flush_locked(f) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int v_sync(sqlite3_file *file, int flags)
{
	struct vfile *f = (struct vfile *)file;
	int rc = f->wal ? flush_locked(f) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int v_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct vfile *f = (struct vfile *)file;
	int rc = f->wal ? flush_locked(f) : SQLITE_OK;

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

/* The mapping of the file at name (a reference more), made when the
 * process has none; NULL when it cannot be had. A descriptor opened here
 * is closed only when no connection of the process has the file open any
 * more (map_put): see the top of this file. */
static struct mapping *map_get(const char *name)
{
	struct mapping *m;
	struct stat st, fst;
	void *base;
	int fd;

	if (stat(name, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	pthread_mutex_lock(&maps_lock);
	for (m = maps; m; m = m->next)
		if (m->dev == st.st_dev && m->ino == st.st_ino) {
			m->refs++;
			goto out;
		}
	fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		goto out; /* m is NULL */
	if (fstat(fd, &fst) < 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		close(fd); /* replaced meanwhile: not the file SQLite opened */
		goto out;
	}
	m = calloc(1, sizeof *m);
	if (!m) {
		/* Left open rather than closed, SQLite may hold locks on this
		 * file: a process out of memory leaks a descriptor. */
		goto out;
	}
	base = mmap(NULL, (size_t)MAP_WINDOW, PROT_READ, MAP_SHARED, fd, 0);
	m->base = base == MAP_FAILED ? NULL : base;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->fd = fd;
	m->refs = 1;
	m->next = maps;
	maps = m;
out:
	pthread_mutex_unlock(&maps_lock);
	return m;
}

static void map_put(struct mapping *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&maps_lock);
	if (--m->refs == 0) {
		for (struct mapping **p = &maps; *p; p = &(*p)->next)
			if (*p == m) {
				*p = m->next;
				break;
			}
		if (m->base)
			munmap((void *)m->base, (size_t)MAP_WINDOW);
		close(m->fd);
		free(m);
	}
	pthread_mutex_unlock(&maps_lock);
}

static int v_close(sqlite3_file *file)
{
	struct vfile *f = (struct vfile *)file;
	int rc = SQLITE_OK;

	if (f->wal) {
		pthread_mutex_lock(&wals_lock);
		for (struct vfile **p = &wals; *p; p = &(*p)->next)
			if (*p == f) {
				*p = f->next;
				break;
			}
		pthread_mutex_unlock(&wals_lock);
		rc = flush_locked(f);
		free(f->buf);
		pthread_mutex_destroy(&f->lock);
	}
	if (f->real->pMethods) {
		int closed = f->real->pMethods->xClose(f->real);
		if (rc == SQLITE_OK)
			rc = closed;
	}
	map_put(f->map); /* after SQLite let go of its locks on the file */
	f->map = NULL;
	return rc;
}

static int v_lock(sqlite3_file *file, int level)
{
	return real(file)->pMethods->xLock(real(file), level);
}

static int v_unlock(sqlite3_file *file, int level)
{
	return real(file)->pMethods->xUnlock(real(file), level);
}

static int v_check_reserved(sqlite3_file *file, int *out)
{
	return real(file)->pMethods->xCheckReservedLock(real(file), out);
}

static int v_file_control(sqlite3_file *file, int op, void *arg)
{
	struct vfile *f = (struct vfile *)file;

	if (f->wal)
		flush_locked(f);
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int v_sector_size(sqlite3_file *file)
{
	return real(file)->pMethods->xSectorSize(real(file));
}

static int v_device(sqlite3_file *file)
{
	return real(file)->pMethods->xDeviceCharacteristics(real(file));
}

static int v_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
	return real(file)->pMethods->xShmMap(real(file), page, size, extend, out);
}

/* Write out what the process's connections to f's database have pending
 * in its WAL. */
static void flush_wals_of(const struct vfile *f)
{
	if (!f->db)
		return;
	pthread_mutex_lock(&wals_lock);
	for (struct vfile *w = wals; w; w = w->next)
		if (strcmp(w->db, f->db) == 0)
			flush_locked(w);
	pthread_mutex_unlock(&wals_lock);
}

/* The write lock let go: what its holder left pending in the WAL (frames
 * of a transaction rolled back: a failure to write them loses nothing) is
 * written out before another writer may write there. */
static int v_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct vfile *f = (struct vfile *)file;
	int rc;

	if ((flags & SQLITE_SHM_UNLOCK) && offset <= WAL_WRITE_LOCK)
		flush_wals_of(f);
	rc = f->real->pMethods->xShmLock(f->real, offset, n, flags);
	/* A read mark taken: a transaction begun, after which the mapped
	 * files' sizes are looked at again before a read (read_mapped). */
	if (rc == SQLITE_OK && flags == (SQLITE_SHM_LOCK | SQLITE_SHM_SHARED) &&
	    offset >= WAL_READ_LOCK0)
		atomic_fetch_add_explicit(&read_locks, 1, memory_order_relaxed);
	return rc;
}

/* SQLite publishes new frames (the WAL index's header) across a barrier:
 * nothing may be pending then, whatever wrote it (the frames that pad a
 * commit to a sector, when the file system asks for them, end in a write
 * split at the sector's end). */
static void v_shm_barrier(sqlite3_file *file)
{
	flush_wals_of((struct vfile *)file);
	real(file)->pMethods->xShmBarrier(real(file));
}

static int v_shm_unmap(sqlite3_file *file, int delete_flag)
{
	return real(file)->pMethods->xShmUnmap(real(file), delete_flag);
}

static int v_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **out)
{
	return real(file)->pMethods->xFetch(real(file), off, n, out);
}

static int v_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	return real(file)->pMethods->xUnfetch(real(file), off, p);
}

static const sqlite3_io_methods methods = {
    .iVersion = 3,
    .xClose = v_close,
    .xRead = v_read,
    .xWrite = v_write,
    .xTruncate = v_truncate,
    .xSync = v_sync,
    .xFileSize = v_file_size,
    .xLock = v_lock,
    .xUnlock = v_unlock,
    .xCheckReservedLock = v_check_reserved,
    .xFileControl = v_file_control,
    .xSectorSize = v_sector_size,
    .xDeviceCharacteristics = v_device,
    .xShmMap = v_shm_map,
    .xShmLock = v_shm_lock,
    .xShmBarrier = v_shm_barrier,
    .xShmUnmap = v_shm_unmap,
    .xFetch = v_fetch,
    .xUnfetch = v_unfetch,
};

static int v_open(sqlite3_vfs *self, sqlite3_filename name, sqlite3_file *file, int flags,
                  int *out_flags)
{
	sqlite3_vfs *sys = self->pAppData;
	struct vfile *f = (struct vfile *)file;
	int rc;

	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)(void *)((char *)f + VFILE_SIZE);
	rc = sys->xOpen(sys, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		/* SQLite closes nothing that failed to open. */
		if (f->real->pMethods)
			f->real->pMethods->xClose(f->real);
		return rc;
	}
	if (f->real->pMethods->iVersion < 3) {
		f->real->pMethods->xClose(f->real);
		return SQLITE_CANTOPEN;
	}
	f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	if (f->wal && name)
		f->db = sqlite3_filename_database(name);
	else if ((flags & SQLITE_OPEN_MAIN_DB) && name)
		f->db = name;
	if ((f->wal || (flags & SQLITE_OPEN_MAIN_DB)) && name &&
	    atomic_load_explicit(&map_reads, memory_order_relaxed))
		f->map = map_get(name);
	if (f->wal) {
		pthread_mutex_init(&f->lock, NULL);
		pthread_mutex_lock(&wals_lock);
		f->next = wals;
		wals = f;
		pthread_mutex_unlock(&wals_lock);
	}
	f->base.pMethods = &methods;
	return SQLITE_OK;
}

static void define(void)
{
	sqlite3_vfs *sys = sqlite3_vfs_find(NULL);

	if (!sys)
		return;
	vfs = *sys;
	vfs.pNext = NULL;
	vfs.zName = SM_STORE_VFS;
	vfs.pAppData = sys;
	vfs.szOsFile = (int)VFILE_SIZE + sys->szOsFile;
	vfs.xOpen = v_open;
	sqlite3_vfs_register(&vfs, 0);
}

int sm_store_vfs_register(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, define);
	return sqlite3_vfs_find(SM_STORE_VFS) ? 0 : -1;
}

void sm_store_vfs_map_reads(bool on)
{
	atomic_store(&map_reads, on);
}

void sm_store_vfs_map_idle(void)
{
	pthread_mutex_lock(&maps_lock);
	for (struct mapping *m = maps; m; m = m->next)
		if (m->base)
			madvise((void *)m->base, (size_t)MAP_WINDOW, MADV_DONTNEED);
	pthread_mutex_unlock(&maps_lock);
}

unsigned long long sm_store_vfs_mapped_reads(void)
{
	return atomic_load(&mapped_reads);
}
