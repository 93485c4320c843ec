/* handoff.h - a queued item handed straight to a waiting worker.
 *
 * A running `sm-pipeline work` binds a datagram socket beside the store,
 * "<store>-handoff" (one worker of a pool: the first to bind it). The
 * webhook handler, before its transaction, connects to it and checks that
 * the worker is waiting for items (sm_handoff_busy) and that every item it
 * handed before has been read (nothing left in its send queue); if so it
 * queues the batch's envelopes already claimed, in the
 * same transaction, under a claim of its own making ("handoff:" and its
 * host and pid, the commit's time) with a run id promised, and after the
 * commit sends each item's claim and envelope in one datagram. The worker
 * reading it runs the item under that claim, as if it had claimed it: no
 * write of its own before the item's first stage has the envelope, no
 * wake-up file, no claim transaction.
 *
 * What can go wrong stays within the queue's rules (inbox.h): a send that
 * fails (the worker gone, its socket full) gives the claim back at once
 * (sm_inbox_release) and wakes the workers as for any queued item; a
 * worker that dies with items handed to it unread leaves their claims to
 * go stale, as it leaves the claim of the item in its hands, and they are
 * taken again after the stale limit. A handler hands over only to a
 * waiting worker and when what it handed before was read, so at most one
 * transaction's items per handler process are at stake, and they wait for
 * a busy worker only when it became busy between the handler's look and
 * its send.
 */
#ifndef SM_HANDOFF_H
#define SM_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>

#include "sm/inbox.h"
#include "sm/store.h"

/* The largest envelope handed over; a larger one is queued as pending. */
#define SM_HANDOFF_MAX_ENVELOPE (64 * 1024)

/* The socket's path ("<store>-handoff"). */
void sm_handoff_path(const sm_store *store, char *buf, size_t size);

/* --- the worker's side -------------------------------------------------- */

/* Bind the socket, taking over the path from a worker that died: the fd
 * (non-blocking, close-on-exec), or -1 when another worker alive holds it
 * or the socket cannot be made (*why says which, "" for the former). */
int sm_handoff_bind(const sm_store *store, char *why, size_t why_size);
/* Take no more hand-overs: remove the path when it is still the one this
 * process bound (the socket stays open, to read what was sent before). */
void sm_handoff_unbind(const sm_store *store);
/* Whether the worker is busy, for the handlers to see: a shared lock on
 * the first byte of the wake-up file (inbox.h), which the worker holding
 * the socket takes whenever it is not waiting for items. fd: that file
 * open for reading (sm_handoff_busy_open; -1 when it cannot be, and then
 * the handlers cannot tell). */
int sm_handoff_busy_open(const sm_store *store);
void sm_handoff_busy(int fd, bool busy);
/* Read one handed item into *item (its envelope parsed; attempts 1): 1,
 * 0 when none is waiting (or the socket is shut down and read to its end),
 * -1 for a datagram that is not one (skipped, its claim left to go stale;
 * *why says what was wrong): read on after it. */
int sm_handoff_recv(int fd, sm_inbox_item *item, char *why, size_t why_size);

/* --- the handler's side ------------------------------------------------- */

typedef struct sm_handoff sm_handoff;

/* A handler's hand-off state, kept across its requests (NULL when out of
 * memory: nothing is handed over then). */
sm_handoff *sm_handoff_new(void);
void sm_handoff_free(sm_handoff *h);
/* Before a transaction: whether its items may be handed over (a worker
 * listens, is not busy, and read everything handed to it before). Forgets the items of
 * the transaction before. */
bool sm_handoff_begin(sm_handoff *h, const sm_store *store);
/* Before a transaction of a handler within a worker's own process
 * (sm-pipeline work --webhook): its items are claimed for that worker,
 * which takes them after the commit (sm_handoff_take) rather than by the
 * socket. Forgets the items of the transaction before. */
void sm_handoff_begin_local(sm_handoff *h);
/* Inside the transaction, when sm_handoff_begin said yes: queue text (len
 * bytes of an envelope's compact JSON, with its trace id) claimed for the
 * hand-over, with a run id promised. 1 when queued so, 0 when it must be
 * queued as usual (too large), -1 with err. */
int sm_handoff_put(sm_handoff *h, sm_store *store, const char *text, size_t len,
                   const char *trace_id, sm_error *err);
/* A savepoint rolled back: forget the items put since mark (the count
 * sm_handoff_count gave when it was taken). */
size_t sm_handoff_count(const sm_handoff *h);
void sm_handoff_forget(sm_handoff *h, size_t mark);
/* After the commit: send each item put; an item that cannot be sent is
 * given back to the queue (pending, in a transaction of its own). The
 * number of items given back, which the caller wakes the workers for. */
size_t sm_handoff_send(sm_handoff *h, sm_store *store);

/* After the commit, in place of sm_handoff_send for a local hand-over:
 * move up to max of the items put into items, each as sm_handoff_recv
 * reads one (its envelope parsed; attempts 1; handed): how many. An item
 * whose envelope cannot be parsed (out of memory) is said and left to go
 * stale. */
size_t sm_handoff_take(sm_handoff *h, sm_inbox_item *items, size_t max);

#endif
