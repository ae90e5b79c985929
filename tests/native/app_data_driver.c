/*
 * Drives native/app_data.c the way plugins and the host use it, for a build with
 * -fsanitize=address,undefined (tests/test_app_data_asan.py). Any sanitizer report, or a
 * CHECK failing, fails the run; the last line is "app_data: ok" on success.
 *
 * What it proves: a copy owns its strings (reading a copy after its source is freed is
 * clean); release frees exactly once; a double release, a release of a managed block, of a
 * block of another kind or of a struct pyhost never made is refused without being touched;
 * the set survives growth and deletion in any order and concurrent use; an arena's
 * leftovers are freed and counted; nothing is left live at the end (LeakSanitizer).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_data.h"

static int failures;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "CHECK failed at line %d: %s\n", __LINE__, #cond);             \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

static void copies_own_their_strings(void)
{
    char url[] = "adc://hub.example:1511";
    HubData* managed = phn_hub_new(7, True, url, "10.0.0.1", (dcptr_t)0x42, 1511,
                                   PROTOCOL_ADC, False, True);
    CHECK(managed && managed->isManaged == True);
    CHECK(managed->url != url && strcmp(managed->url, url) == 0);
    url[0] = 'X'; /* the block does not point into the caller's buffer */
    CHECK(managed->url[0] == 'a');

    HubData* copy = phn_hub_copy(managed);
    CHECK(copy && copy->isManaged == False && copy->object == (dcptr_t)0x42);
    CHECK(copy->port == 1511 && copy->isSecure == True && copy->protocol == PROTOCOL_ADC);
    CHECK(phn_app_live(7, PHN_KIND_HUB, 0) == 1); /* the copy inherited arena 7 */

    CHECK(phn_app_free(managed) == 1); /* the entity goes away... */
    CHECK(strcmp(copy->url, "adc://hub.example:1511") == 0); /* ...the copy is intact */
    CHECK(strcmp(copy->ip, "10.0.0.1") == 0);
    phn_hub_release(copy);
    CHECK(phn_app_live(7, 0, -1) == 0);
}

static void refusals_never_touch_the_pointer(void)
{
    long unknown = phn_app_refused(PHN_REFUSED_UNKNOWN);
    long managed_refusals = phn_app_refused(PHN_REFUSED_MANAGED);
    long wrong = phn_app_refused(PHN_REFUSED_WRONG_KIND);

    UserData* managed = phn_user_new(1, True, "alice", "adc://h", "CID1", NULL, 5,
                                     PROTOCOL_NMDC, True);
    UserData* copy = phn_user_copy(managed);
    phn_user_release(copy);
    phn_user_release(copy); /* double release: copy is freed memory, must not be read */
    CHECK(phn_app_refused(PHN_REFUSED_UNKNOWN) == unknown + 1);

    phn_user_release(managed); /* a plugin freeing a host object */
    CHECK(phn_app_refused(PHN_REFUSED_MANAGED) == managed_refusals + 1);
    CHECK(phn_app_kind(managed) == PHN_KIND_USER);
    CHECK(strcmp(managed->nick, "alice") == 0); /* still usable */

    HubData* hub = phn_hub_copy(&(HubData){ .url = "adc://x", .ip = NULL });
    phn_user_release((UserData*)hub); /* a HubData given to release_user */
    CHECK(phn_app_refused(PHN_REFUSED_WRONG_KIND) == wrong + 1);
    CHECK(phn_app_kind(hub) == PHN_KIND_HUB);
    CHECK(strcmp(hub->ip, "") == 0); /* NULL strings are stored as "" */
    phn_hub_release(hub);

    UserData on_stack = { "bob", "adc://h", "CID2", NULL, 1, PROTOCOL_ADC, False, False };
    phn_user_release(&on_stack); /* the reference host would free() a stack address */
    CHECK(phn_app_refused(PHN_REFUSED_UNKNOWN) == unknown + 2);

    phn_user_release(NULL); /* a no-op, not a refusal */
    phn_hub_release(NULL);
    phn_queue_release(NULL);
    phn_data_release(NULL);
    CHECK(phn_app_refused(PHN_REFUSED_UNKNOWN) == unknown + 2);
    CHECK(phn_hub_copy(NULL) == NULL && phn_user_copy(NULL) == NULL);
    CHECK(phn_app_free(managed) == 1);
    CHECK(phn_app_free(managed) == 0); /* not live any more: ignored */
}

static void queue_and_data_blocks(void)
{
    QueueData* item = phn_queue_new(2, True, "/dl/file.iso", "/dl/", "TTHTTHTTH", NULL,
                                    UINT64_C(5000000000), False);
    QueueData* copy = phn_queue_copy(item);
    CHECK(copy && copy->size == UINT64_C(5000000000) && copy->isManaged == False);
    CHECK(strcmp(copy->hash, "TTHTTHTTH") == 0 && strcmp(copy->location, "/dl/") == 0);
    phn_app_free(item);
    CHECK(strcmp(copy->target, "/dl/file.iso") == 0);
    phn_queue_release(copy);

    const unsigned char bytes[] = { 'a', 0, 'b', 0xff };
    DataArray* data = phn_data_new(2, True, bytes, sizeof bytes);
    DataArray* dcopy = phn_data_copy(data);
    CHECK(dcopy && dcopy->size == 4 && memcmp(dcopy->pData, bytes, 4) == 0);
    CHECK(dcopy->pData != data->pData);
    phn_app_free(data);
    CHECK(((const unsigned char*)dcopy->pData)[3] == 0xff);
    CHECK(((const unsigned char*)dcopy->pData)[4] == 0); /* NUL after the bytes */
    phn_data_release(dcopy);
    DataArray* empty = phn_data_new(2, False, NULL, 0);
    CHECK(empty && empty->size == 0);
    phn_data_release(empty);
    CHECK(phn_data_new(2, False, NULL, 3) == NULL); /* bytes missing */

    ConnectionData* conn = phn_conn_new(2, True, "192.0.2.7", NULL, 4112, PROTOCOL_NMDC,
                                        False, False);
    CHECK(conn && strcmp(conn->ip, "192.0.2.7") == 0 && conn->port == 4112);
    CHECK(phn_app_free(conn) == 1);
    CHECK(phn_app_live(2, 0, -1) == 0);
}

/* Growth and backward-shift deletion: thousands of blocks, released in a scrambled order. */
static void many_blocks(void)
{
    enum { N = 20000 };
    UserData** users = malloc(N * sizeof *users);
    for (int i = 0; i < N; i++) {
        char nick[32];
        snprintf(nick, sizeof nick, "user%d", i);
        users[i] = phn_user_new(3, False, nick, "adc://h", "CID", NULL, (uint32_t)i,
                                PROTOCOL_ADC, False);
        CHECK(users[i] != NULL);
    }
    CHECK(phn_app_live(3, PHN_KIND_USER, 0) == N);
    for (int step = 0; step < N; step++) {
        int i = (int)(((long)step * 7919) % N); /* 7919 is prime, coprime with N */
        CHECK(phn_app_kind(users[i]) == PHN_KIND_USER);
        CHECK(users[i]->sid == (uint32_t)i);
        phn_user_release(users[i]);
        if (step % 1000 == 0) /* everything not yet released is still found */
            CHECK(phn_app_live(3, 0, -1) == N - step - 1);
    }
    CHECK(phn_app_live(3, 0, -1) == 0);
    free(users);
}

static void arena_leftovers(void)
{
    HubData* hub = phn_hub_new(9, True, "adc://a", "", NULL, 0, PROTOCOL_ADC, False, False);
    phn_hub_copy(hub); /* leaked by a "plugin" */
    phn_hub_copy(hub);
    QueueData* q = phn_queue_new(9, False, "t", "l", "h", NULL, 1, False);
    (void)q; /* leaked too */
    HubData* other = phn_hub_new(10, True, "adc://b", "", NULL, 0, PROTOCOL_ADC, False, False);
    long copies[PHN_KINDS];
    CHECK(phn_app_free_arena(9, copies) == 4);
    CHECK(copies[PHN_KIND_HUB] == 2 && copies[PHN_KIND_QUEUE] == 1 && copies[PHN_KIND_USER] == 0);
    CHECK(phn_app_live(9, 0, -1) == 0);
    CHECK(phn_app_live(10, 0, -1) == 1); /* another host's blocks are left alone */
    phn_app_free(other);
}

static void* churn(void* arg)
{
    HubData* source = arg;
    for (int i = 0; i < 20000; i++) {
        HubData* a = phn_hub_copy(source);
        UserData* u = phn_user_new(4, False, "n", "h", "c", NULL, 0, PROTOCOL_ADC, False);
        HubData* b = phn_hub_copy(a);
        phn_hub_release(a);
        phn_user_release(u);
        if (strcmp(b->url, "adc://shared") != 0)
            failures++;
        phn_hub_release(b);
        phn_hub_release(b); /* refused, from any thread */
    }
    return NULL;
}

static void threads(void)
{
    HubData* source = phn_hub_new(4, True, "adc://shared", "1.2.3.4", NULL, 411,
                                  PROTOCOL_ADC, False, False);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, churn, source);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(phn_app_live(4, 0, 0) == 0);
    CHECK(phn_app_live(4, 0, 1) == 1);
    phn_app_free(source);
}

int main(void)
{
    copies_own_their_strings();
    refusals_never_touch_the_pointer();
    queue_and_data_blocks();
    many_blocks();
    arena_leftovers();
    threads();
    CHECK(phn_app_live(PHN_ARENA_ALL, 0, -1) == 0);
    printf("refused: unknown=%ld managed=%ld wrong_kind=%ld\n",
           phn_app_refused(PHN_REFUSED_UNKNOWN), phn_app_refused(PHN_REFUSED_MANAGED),
           phn_app_refused(PHN_REFUSED_WRONG_KIND));
    if (failures) {
        printf("app_data: %d failure(s)\n", failures);
        return 1;
    }
    printf("app_data: ok\n");
    return 0;
}
