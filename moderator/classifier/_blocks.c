/* One text's TF-IDF block logits in compiled code: what counting.py's score_one spends
 * most of its time on in numpy calls of a few hundred elements each.
 *
 * Two functions, each the exact arithmetic of features.block_one on one text's features:
 *
 *   word_block(tokens, words, unknown, unigram, lo, hi, width, keys, features,
 *              idf, weighted, sublinear, log_tf) -> list[float] | None
 *       the word block: each token's id (words.get(token, unknown)), its unigram feature
 *       (unigram[id] when >= 0) and each pair of known neighbours' bigram feature
 *       (the key id_a * width + id_b looked up in the sorted `keys`), as Counting._features
 *       counts them;
 *
 *   char_block(words, cache, grams, idf, weighted, sublinear, log_tf) -> list[float] | None
 *       the character block: each of the text's whitespace words' n-gram feature ids (an
 *       int64 array: cache[word], else grams(word), Counting._word_grams, which caches it),
 *       counted together.
 *
 *   char_grams(word, vocab, lo, hi) -> bytes
 *       one whitespace word's character n-gram feature ids (int64), as scikit-learn's
 *       char_wb analyzer finds them and `vocab` numbers them (Counting._word_grams).
 *
 *   word_tokens(text) -> list[str]
 *       the runs of word characters, what re.findall(r"(?u)\b\w+\b", text) returns
 *       (scikit-learn's default token pattern): a character is a word character when
 *       str.isalnum() says so or it is "_", exactly re's \w for str patterns.
 *
 * The blocks return the block's contribution to each category's logit, or None when the text has
 * no feature. The arithmetic is block_one's, operation for operation and in the same order:
 * distinct features in increasing order; tf = log_tf[count] (sublinear) or count; w = tf * idf;
 * norm = sqrt(sum of w * w, added in feature order) or 1; each category's sum of
 * tf * weighted[feature], added in feature order, divided by norm. Compiled with
 * -ffp-contract=off so no multiply-add is fused: the results equal numpy's to the last bit
 * (tests/test_compiled_blocks.py). A count past the end of log_tf raises OverflowError (the
 * caller then uses numpy's log, as block_one does).
 *
 * No numpy headers: arrays arrive through the buffer protocol, so building needs only a C
 * compiler and Python's headers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* A read-only, C-contiguous view of an array of int64 (`kind` 'i') or double ('d') items. */
static int get_array(PyObject *obj, Py_buffer *view, char kind, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        return -1;
    }
    const char *format = view->format ? view->format : "B";
    if (format[0] == '@' || format[0] == '=') format++;
    int ok = view->itemsize == 8 && format[1] == '\0' &&
             (kind == 'd' ? format[0] == 'd' : (format[0] == 'l' || format[0] == 'q'));
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s: expected an array of %s, got format '%s'", what,
                     kind == 'd' ? "float64" : "int64", view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* The arrays a block is weighed with. */
typedef struct {
    Py_buffer idf, weighted, log_tf;
    Py_ssize_t n_features, n_categories, log_size;
    int sublinear;
} Block;

static void block_release(Block *b) {
    if (b->idf.obj) PyBuffer_Release(&b->idf);
    if (b->weighted.obj) PyBuffer_Release(&b->weighted);
    if (b->log_tf.obj) PyBuffer_Release(&b->log_tf);
}

static int block_open(Block *b, PyObject *idf, PyObject *weighted, int sublinear,
                      PyObject *log_tf) {
    memset(b, 0, sizeof(*b));
    b->sublinear = sublinear;
    if (get_array(idf, &b->idf, 'd', "idf") < 0 ||
        get_array(weighted, &b->weighted, 'd', "weighted") < 0 ||
        get_array(log_tf, &b->log_tf, 'd', "log_tf") < 0) {
        block_release(b);
        return -1;
    }
    b->n_features = b->idf.len / (Py_ssize_t)sizeof(double);
    b->log_size = b->log_tf.len / (Py_ssize_t)sizeof(double);
    if (b->weighted.ndim != 2 || b->weighted.shape[0] != b->n_features) {
        PyErr_SetString(PyExc_ValueError, "weighted must be (features, categories)");
        block_release(b);
        return -1;
    }
    b->n_categories = b->weighted.shape[1];
    if (b->n_categories < 1 || b->n_categories > 64) {
        PyErr_SetString(PyExc_ValueError, "weighted must have 1 to 64 categories");
        block_release(b);
        return -1;
    }
    return 0;
}

/* Sort n non-negative ids in place: insertion sort for a few, else an LSD radix sort by
 * bytes (qsort's calls to a comparison cost 60 ns an id on a comment's few hundred). `tmp`
 * has room for n ids. */
static void sort_ids(int64_t *ids, int64_t *tmp, Py_ssize_t n) {
    if (n < 32) {
        for (Py_ssize_t i = 1; i < n; i++) {
            int64_t v = ids[i];
            Py_ssize_t j = i;
            while (j > 0 && ids[j - 1] > v) {
                ids[j] = ids[j - 1];
                j--;
            }
            ids[j] = v;
        }
        return;
    }
    uint64_t top = 0;
    for (Py_ssize_t i = 0; i < n; i++) top |= (uint64_t)ids[i];
    int64_t *from = ids, *to = tmp;
    for (int shift = 0; shift < 64 && (top >> shift); shift += 8) {
        Py_ssize_t counts[256] = {0};
        for (Py_ssize_t i = 0; i < n; i++) counts[((uint64_t)from[i] >> shift) & 0xFF]++;
        Py_ssize_t at = 0;
        for (int d = 0; d < 256; d++) {
            Py_ssize_t c = counts[d];
            counts[d] = at;
            at += c;
        }
        for (Py_ssize_t i = 0; i < n; i++) to[counts[((uint64_t)from[i] >> shift) & 0xFF]++] = from[i];
        int64_t *swap = from;
        from = to;
        to = swap;
    }
    if (from != ids) memcpy(ids, from, (size_t)n * sizeof(int64_t));
}

/* A feature's tf for `count` occurrences: log_tf[count] (sublinear) or the count itself. */
static int term_frequency(const Block *b, Py_ssize_t count, double *tf) {
    if (!b->sublinear) {
        *tf = (double)count;
        return 0;
    }
    if (count >= b->log_size) {
        PyErr_SetString(PyExc_OverflowError, "count beyond the log table");
        return -1;
    }
    *tf = ((const double *)b->log_tf.buf)[count];
    return 0;
}

/* block_one on `n` feature ids (any order; sorted here, in place, with `tmp` holding room
 * for n more). New reference or NULL. */
static PyObject *weigh(Block *b, int64_t *ids, int64_t *tmp, Py_ssize_t n) {
    if (n == 0) {
        Py_RETURN_NONE;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= b->n_features) {
            PyErr_SetString(PyExc_IndexError, "feature id out of range");
            return NULL;
        }
    }
    sort_ids(ids, tmp, n);
    const double *idf = (const double *)b->idf.buf;
    const double *weighted = (const double *)b->weighted.buf;
    const Py_ssize_t k = b->n_categories;
    double sums[64];
    double squares = 0.0;
    int first = 1;
    Py_ssize_t i = 0;
    while (i < n) {
        Py_ssize_t j = i + 1;
        while (j < n && ids[j] == ids[i]) j++;
        double tf;
        if (term_frequency(b, j - i, &tf) < 0) return NULL;
        const int64_t feature = ids[i];
        const double w = tf * idf[feature];
        const double *row = weighted + feature * k;
        if (first) {
            /* cumsum starts from the first element itself, not from 0.0 + it. */
            squares = w * w;
            for (Py_ssize_t c = 0; c < k; c++) sums[c] = tf * row[c];
            first = 0;
        } else {
            squares += w * w;
            for (Py_ssize_t c = 0; c < k; c++) sums[c] += tf * row[c];
        }
        i = j;
    }
    double norm = sqrt(squares);
    if (norm == 0.0) norm = 1.0;
    PyObject *out = PyList_New(k);
    if (!out) return NULL;
    for (Py_ssize_t c = 0; c < k; c++) {
        PyObject *value = PyFloat_FromDouble(sums[c] / norm);
        if (!value) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, c, value);
    }
    return out;
}

/* Room for `n` ids: on the stack for a comment, on the heap for a long text. */
#define STACK_IDS 1024

/* A text's whitespace words' n-gram id arrays: cache[word], else grams(word) (which caches
 * it), each held with its buffer until grams_release. */
typedef struct {
    Py_ssize_t n, opened, total; /* words, arrays held, ids in all */
    PyObject **parts;
    Py_buffer *views;
} Grams;

static void grams_release(Grams *g) {
    for (Py_ssize_t p = 0; p < g->opened; p++) {
        PyBuffer_Release(&g->views[p]);
        Py_DECREF(g->parts[p]);
    }
    PyMem_Free(g->views);
    PyMem_Free(g->parts);
    g->views = NULL;
    g->parts = NULL;
    g->opened = 0;
}

static int grams_open(Grams *g, PyObject *words, PyObject *cache, PyObject *grams) {
    g->n = PyList_GET_SIZE(words);
    g->opened = g->total = 0;
    g->parts = PyMem_Calloc(g->n ? (size_t)g->n : 1, sizeof(PyObject *));
    g->views = PyMem_Calloc(g->n ? (size_t)g->n : 1, sizeof(Py_buffer));
    if (!g->parts || !g->views) {
        PyErr_NoMemory();
        grams_release(g);
        return -1;
    }
    for (; g->opened < g->n; g->opened++) {
        PyObject *word = PyList_GET_ITEM(words, g->opened);
        PyObject *part = PyDict_GetItemWithError(cache, word);
        if (part) {
            Py_INCREF(part);
        } else if (PyErr_Occurred() || !(part = PyObject_CallOneArg(grams, word))) {
            grams_release(g);
            return -1;
        }
        if (get_array(part, &g->views[g->opened], 'i', "grams") < 0) {
            Py_DECREF(part);
            grams_release(g);
            return -1;
        }
        g->parts[g->opened] = part;
        g->total += g->views[g->opened].len / (Py_ssize_t)sizeof(int64_t);
    }
    return 0;
}

/* Every word's ids, one word after another, into `ids` (room for g->total). */
static void grams_copy(const Grams *g, int64_t *ids) {
    for (Py_ssize_t p = 0; p < g->n; p++) {
        memcpy(ids, g->views[p].buf, (size_t)g->views[p].len);
        ids += g->views[p].len / (Py_ssize_t)sizeof(int64_t);
    }
}

static Py_ssize_t grams_of(const Grams *g, Py_ssize_t p) {
    return g->views[p].len / (Py_ssize_t)sizeof(int64_t);
}

static PyObject *char_block(PyObject *self, PyObject *args) {
    PyObject *words, *cache, *grams, *idf, *weighted, *log_tf;
    int sublinear;
    if (!PyArg_ParseTuple(args, "O!O!OOOpO:char_block", &PyList_Type, &words, &PyDict_Type,
                          &cache, &grams, &idf, &weighted, &sublinear, &log_tf)) {
        return NULL;
    }
    Block b;
    if (block_open(&b, idf, weighted, sublinear, log_tf) < 0) return NULL;
    Grams g;
    if (grams_open(&g, words, cache, grams) < 0) {
        block_release(&b);
        return NULL;
    }
    PyObject *out = NULL;
    int64_t stack[2 * STACK_IDS], *ids = stack;
    if (g.total > STACK_IDS) {
        ids = PyMem_Malloc((size_t)(2 * g.total) * sizeof(int64_t));
        if (!ids) {
            PyErr_NoMemory();
            goto done;
        }
    }
    grams_copy(&g, ids);
    out = weigh(&b, ids, ids + g.total, g.total);
done:
    if (ids != stack) PyMem_Free(ids);
    grams_release(&g);
    block_release(&b);
    return out;
}

/* Index of `key` in the sorted `keys`, or -1. */
static Py_ssize_t find(const int64_t *keys, Py_ssize_t n, int64_t key) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return (lo < n && keys[lo] == key) ? lo : -1;
}

/* How word ids become features (Counting._features): each id's unigram feature, and the
 * sorted bigram keys (a * width + b) with their features. */
typedef struct {
    Py_buffer unigram, keys, features;
    long long unknown, width;
    int lo, hi;
} Words;

static void words_release(Words *w) {
    if (w->unigram.obj) PyBuffer_Release(&w->unigram);
    if (w->keys.obj) PyBuffer_Release(&w->keys);
    if (w->features.obj) PyBuffer_Release(&w->features);
}

static int words_open(Words *w, PyObject *unigram, PyObject *keys, PyObject *features) {
    if (get_array(unigram, &w->unigram, 'i', "unigram") < 0 ||
        get_array(keys, &w->keys, 'i', "keys") < 0 ||
        get_array(features, &w->features, 'i', "features") < 0) {
        words_release(w);
        return -1;
    }
    if (w->keys.len != w->features.len) {
        PyErr_SetString(PyExc_ValueError, "keys and features differ in length");
        words_release(w);
        return -1;
    }
    return 0;
}

/* The features of `n` word ids into `feats` (room for 2n), unigrams (in token order) first,
 * then bigrams; `positions`, when given, gets the token each starts at. The number found, or
 * -1 with an exception set; `unigrams` gets how many of them are unigrams. */
static Py_ssize_t words_find(const Words *w, const int64_t *ids, Py_ssize_t n, int64_t *feats,
                             int64_t *positions, Py_ssize_t *unigrams) {
    Py_ssize_t found = 0;
    if (w->lo == 1) {
        const int64_t *unigram = (const int64_t *)w->unigram.buf;
        const Py_ssize_t n_unigram = w->unigram.len / (Py_ssize_t)sizeof(int64_t);
        for (Py_ssize_t t = 0; t < n; t++) {
            if (ids[t] < 0 || ids[t] >= n_unigram) {
                PyErr_SetString(PyExc_IndexError, "word id out of range");
                return -1;
            }
            if (unigram[ids[t]] >= 0) {
                if (positions) positions[found] = t;
                feats[found++] = unigram[ids[t]];
            }
        }
    }
    *unigrams = found;
    const Py_ssize_t n_keys = w->keys.len / (Py_ssize_t)sizeof(int64_t);
    if (w->hi == 2 && n > 1 && n_keys) {
        const int64_t *keys = (const int64_t *)w->keys.buf;
        const int64_t *features = (const int64_t *)w->features.buf;
        for (Py_ssize_t t = 0; t + 1 < n; t++) {
            if (ids[t] == w->unknown || ids[t + 1] == w->unknown) continue;
            Py_ssize_t at = find(keys, n_keys, ids[t] * w->width + ids[t + 1]);
            if (at >= 0) {
                if (positions) positions[found] = t;
                feats[found++] = features[at];
            }
        }
    }
    return found;
}

static PyObject *word_block(PyObject *self, PyObject *args) {
    PyObject *tokens, *words, *unigram, *keys, *features, *idf, *weighted, *log_tf;
    Words w = {0};
    int sublinear;
    if (!PyArg_ParseTuple(args, "O!O!LOiiLOOOOpO:word_block", &PyList_Type, &tokens,
                          &PyDict_Type, &words, &w.unknown, &unigram, &w.lo, &w.hi, &w.width,
                          &keys, &features, &idf, &weighted, &sublinear, &log_tf)) {
        return NULL;
    }
    Block b;
    if (block_open(&b, idf, weighted, sublinear, log_tf) < 0) return NULL;
    if (words_open(&w, unigram, keys, features) < 0) {
        block_release(&b);
        return NULL;
    }
    PyObject *out = NULL;
    const Py_ssize_t n = PyList_GET_SIZE(tokens);
    /* Token ids, the features found (at most n unigrams and n - 1 bigrams), room to sort. */
    int64_t stack[5 * STACK_IDS], *ids = stack;
    if (n > STACK_IDS) {
        ids = PyMem_Malloc((size_t)(5 * n) * sizeof(int64_t));
        if (!ids) {
            PyErr_NoMemory();
            goto done;
        }
    }
    for (Py_ssize_t t = 0; t < n; t++) {
        PyObject *found = PyDict_GetItemWithError(words, PyList_GET_ITEM(tokens, t));
        if (found) {
            long long id = PyLong_AsLongLong(found);
            if (id == -1 && PyErr_Occurred()) goto done;
            ids[t] = id;
        } else if (PyErr_Occurred()) {
            goto done;
        } else {
            ids[t] = w.unknown;
        }
    }
    Py_ssize_t unigrams;
    Py_ssize_t found = words_find(&w, ids, n, ids + n, NULL, &unigrams);
    if (found >= 0) out = weigh(&b, ids + n, ids + n + found, found);
done:
    if (ids != stack) PyMem_Free(ids);
    words_release(&w);
    block_release(&b);
    return out;
}

/* The character n-gram feature ids of one whitespace word, as scikit-learn's char_wb
 * analyzer counts them: the word padded with a space on either side, every n-gram of each
 * length lo..hi in order, but a padded word no longer than n gives itself once and ends
 * the lengths. N-grams not in `vocab` are left out. Returned as int64 bytes. */
static PyObject *char_grams(PyObject *self, PyObject *args) {
    PyObject *word, *vocab;
    int lo, hi;
    if (!PyArg_ParseTuple(args, "UO!ii:char_grams", &word, &PyDict_Type, &vocab, &lo, &hi)) {
        return NULL;
    }
    if (lo < 1 || hi < lo) {
        PyErr_SetString(PyExc_ValueError, "n-gram lengths must satisfy 1 <= lo <= hi");
        return NULL;
    }
    PyObject *padded = PyUnicode_FromFormat(" %U ", word);
    if (!padded) return NULL;
    Py_ssize_t size = PyUnicode_GET_LENGTH(padded);
    Py_ssize_t room = 0;
    for (int n = lo; n <= hi; n++) {
        room += size <= n ? 1 : size - n + 1;
        if (size <= n) break;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, room * (Py_ssize_t)sizeof(int64_t));
    if (!out) {
        Py_DECREF(padded);
        return NULL;
    }
    int64_t *ids = (int64_t *)PyBytes_AS_STRING(out);
    Py_ssize_t found = 0;
    for (int n = lo; n <= hi; n++) {
        Py_ssize_t count = size <= n ? 1 : size - n + 1;
        Py_ssize_t length = size <= n ? size : n;
        for (Py_ssize_t i = 0; i < count; i++) {
            PyObject *gram = PyUnicode_Substring(padded, i, i + length);
            if (!gram) goto fail;
            PyObject *id = PyDict_GetItemWithError(vocab, gram);
            Py_DECREF(gram);
            if (id) {
                long long value = PyLong_AsLongLong(id);
                if (value == -1 && PyErr_Occurred()) goto fail;
                ids[found++] = value;
            } else if (PyErr_Occurred()) {
                goto fail;
            }
        }
        if (size <= n) break;
    }
    Py_DECREF(padded);
    if (found < room && _PyBytes_Resize(&out, found * (Py_ssize_t)sizeof(int64_t)) < 0) {
        return NULL;
    }
    return out;
fail:
    Py_DECREF(padded);
    Py_DECREF(out);
    return NULL;
}

/* ---- Explanations: each token's share of a block (explain.py's _word_block, _char_shares) */

/* explain._shares for one text: per occurrence of feats[o], its feature's tf-idf weight in the
 * text (L2-normed), divided among the feature's occurrences, times each category's
 * coefficient: shares[o * k + c]. The same operations as numpy's, in the same order:
 * distinct features in increasing order, w = tf * idf, norm = sqrt(sum of w * w added in
 * that order), weight = w / norm / count, share = weight * coef. -1 with an exception set. */
static int occurrence_shares(Block *b, const int64_t *feats, Py_ssize_t n, double *shares) {
    int64_t *sorted = PyMem_Malloc((size_t)(2 * n) * sizeof(int64_t));
    double *weights = PyMem_Malloc((size_t)n * sizeof(double));
    if (!sorted || !weights) {
        PyMem_Free(sorted);
        PyMem_Free(weights);
        PyErr_NoMemory();
        return -1;
    }
    int rc = -1;
    for (Py_ssize_t o = 0; o < n; o++) {
        if (feats[o] < 0 || feats[o] >= b->n_features) {
            PyErr_SetString(PyExc_IndexError, "feature id out of range");
            goto done;
        }
        sorted[o] = feats[o];
    }
    sort_ids(sorted, sorted + n, n);
    const double *idf = (const double *)b->idf.buf;
    const double *coef = (const double *)b->weighted.buf;
    const Py_ssize_t k = b->n_categories;
    /* Distinct features, compacted to the front of `sorted`, with their w in `weights`. */
    Py_ssize_t distinct = 0;
    double squares = 0.0;
    for (Py_ssize_t i = 0; i < n;) {
        Py_ssize_t j = i + 1;
        while (j < n && sorted[j] == sorted[i]) j++;
        Py_ssize_t count = j - i;
        double tf;
        if (term_frequency(b, count, &tf) < 0) goto done;
        double w = tf * idf[sorted[i]];
        squares = distinct ? squares + w * w : w * w;
        sorted[distinct] = sorted[i];
        weights[distinct] = w;
        /* the count, kept beside it until the norm is known */
        sorted[n + distinct] = count;
        distinct++;
        i = j;
    }
    double norm = sqrt(squares);
    for (Py_ssize_t u = 0; u < distinct; u++) {
        weights[u] = weights[u] / norm / (double)sorted[n + u];
    }
    for (Py_ssize_t o = 0; o < n; o++) {
        Py_ssize_t u = find(sorted, distinct, feats[o]);
        const double *row = coef + feats[o] * k;
        for (Py_ssize_t c = 0; c < k; c++) shares[o * k + c] = weights[u] * row[c];
    }
    rc = 0;
done:
    PyMem_Free(sorted);
    PyMem_Free(weights);
    return rc;
}

static PyObject *word_shares(PyObject *self, PyObject *args) {
    PyObject *ids_obj, *unigram, *keys, *features, *idf, *coef, *log_tf;
    Words w = {0};
    int sublinear;
    if (!PyArg_ParseTuple(args, "OLOiiLOOOOpO:word_shares", &ids_obj, &w.unknown, &unigram,
                          &w.lo, &w.hi, &w.width, &keys, &features, &idf, &coef, &sublinear,
                          &log_tf)) {
        return NULL;
    }
    Block b;
    if (block_open(&b, idf, coef, sublinear, log_tf) < 0) return NULL;
    Py_buffer ids_view = {0};
    PyObject *out = NULL;
    int64_t *feats = NULL, *positions = NULL;
    double *shares = NULL;
    if (words_open(&w, unigram, keys, features) < 0) goto done;
    if (get_array(ids_obj, &ids_view, 'i', "ids") < 0) goto done;
    const int64_t *ids = (const int64_t *)ids_view.buf;
    const Py_ssize_t n = ids_view.len / (Py_ssize_t)sizeof(int64_t);
    const Py_ssize_t k = b.n_categories;
    out = PyBytes_FromStringAndSize(NULL, n * k * (Py_ssize_t)sizeof(double));
    if (!out) goto done;
    double *sums = (double *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n * k; i++) sums[i] = 0.0;
    if (n == 0) goto done;
    feats = PyMem_Malloc((size_t)(2 * n) * sizeof(int64_t));
    positions = PyMem_Malloc((size_t)(2 * n) * sizeof(int64_t));
    if (!feats || !positions) {
        PyErr_NoMemory();
        Py_CLEAR(out);
        goto done;
    }
    Py_ssize_t unigrams;
    const Py_ssize_t found = words_find(&w, ids, n, feats, positions, &unigrams);
    if (found < 0) {
        Py_CLEAR(out);
        goto done;
    }
    if (found == 0) goto done;
    shares = PyMem_Malloc((size_t)(found * k) * sizeof(double));
    if (!shares) {
        PyErr_NoMemory();
        Py_CLEAR(out);
        goto done;
    }
    if (occurrence_shares(&b, feats, found, shares) < 0) {
        Py_CLEAR(out);
        goto done;
    }
    /* Each token adds, in this order, its unigram's share, half the bigram it starts, half
     * the bigram it ends (explain._word_block's one bincount over [at, at of bigrams + 1]). */
    for (Py_ssize_t o = 0; o < unigrams; o++) {
        for (Py_ssize_t c = 0; c < k; c++) sums[positions[o] * k + c] += shares[o * k + c];
    }
    for (Py_ssize_t o = unigrams; o < found; o++) {
        for (Py_ssize_t c = 0; c < k; c++) {
            shares[o * k + c] /= 2.0;
            sums[positions[o] * k + c] += shares[o * k + c];
        }
    }
    for (Py_ssize_t o = unigrams; o < found; o++) {
        for (Py_ssize_t c = 0; c < k; c++) sums[(positions[o] + 1) * k + c] += shares[o * k + c];
    }
done:
    PyMem_Free(feats);
    PyMem_Free(positions);
    PyMem_Free(shares);
    if (ids_view.obj) PyBuffer_Release(&ids_view);
    words_release(&w);
    block_release(&b);
    return out;
}

static PyObject *char_shares(PyObject *self, PyObject *args) {
    PyObject *words, *cache, *grams, *chunks_obj, *idf, *coef, *log_tf;
    int sublinear;
    if (!PyArg_ParseTuple(args, "O!O!OOOOpO:char_shares", &PyList_Type, &words, &PyDict_Type,
                          &cache, &grams, &chunks_obj, &idf, &coef, &sublinear, &log_tf)) {
        return NULL;
    }
    Block b;
    if (block_open(&b, idf, coef, sublinear, log_tf) < 0) return NULL;
    Py_buffer chunks_view = {0};
    Grams g = {0};
    const Py_ssize_t n_words = PyList_GET_SIZE(words);
    Py_ssize_t *in_chunk = PyMem_Calloc(n_words ? (size_t)n_words : 1, sizeof(Py_ssize_t));
    double *per_chunk = NULL, *shares = NULL;
    int64_t *feats = NULL;
    PyObject *out = NULL;
    if (!in_chunk) {
        PyErr_NoMemory();
        goto done;
    }
    if (get_array(chunks_obj, &chunks_view, 'i', "token_chunks") < 0) goto done;
    const int64_t *token_chunk = (const int64_t *)chunks_view.buf;
    const Py_ssize_t n_tokens = chunks_view.len / (Py_ssize_t)sizeof(int64_t);
    const Py_ssize_t k = b.n_categories;
    for (Py_ssize_t t = 0; t < n_tokens; t++) {
        if (token_chunk[t] < 0 || token_chunk[t] >= n_words) {
            PyErr_SetString(PyExc_IndexError, "token's word out of range");
            goto done;
        }
        in_chunk[token_chunk[t]]++;
    }
    if (grams_open(&g, words, cache, grams) < 0) goto done;
    out = PyBytes_FromStringAndSize(NULL, n_tokens * k * (Py_ssize_t)sizeof(double));
    if (!out) goto done;
    double *result = (double *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n_tokens * k; i++) result[i] = 0.0;
    if (n_tokens == 0 || g.total == 0) goto done;
    feats = PyMem_Malloc((size_t)g.total * sizeof(int64_t));
    shares = PyMem_Malloc((size_t)(g.total * k) * sizeof(double));
    per_chunk = PyMem_Calloc((size_t)(n_words * k), sizeof(double));
    if (!feats || !shares || !per_chunk) {
        PyErr_NoMemory();
        Py_CLEAR(out);
        goto done;
    }
    grams_copy(&g, feats);
    if (occurrence_shares(&b, feats, g.total, shares) < 0) {
        Py_CLEAR(out);
        goto done;
    }
    /* Each word's occurrences summed in order (bincount), then split among its tokens. */
    Py_ssize_t at = 0;
    for (Py_ssize_t p = 0; p < n_words; p++) {
        const Py_ssize_t count = grams_of(&g, p);
        for (Py_ssize_t o = at; o < at + count; o++) {
            for (Py_ssize_t c = 0; c < k; c++) per_chunk[p * k + c] += shares[o * k + c];
        }
        at += count;
    }
    for (Py_ssize_t t = 0; t < n_tokens; t++) {
        const int64_t p = token_chunk[t];
        const double share = 1.0 / (double)in_chunk[p];
        for (Py_ssize_t c = 0; c < k; c++) result[t * k + c] = per_chunk[p * k + c] * share;
    }
done:
    grams_release(&g);
    PyMem_Free(in_chunk);
    PyMem_Free(feats);
    PyMem_Free(shares);
    PyMem_Free(per_chunk);
    if (chunks_view.obj) PyBuffer_Release(&chunks_view);
    block_release(&b);
    return out;
}

/* re's \w for str patterns (_sre's SRE_UNI_IS_WORD): alphanumeric or "_". */
static inline int is_word(Py_UCS4 c) {
    if (c < 128) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    }
    return Py_UNICODE_ISALNUM(c);
}

/* The runs of word characters in `text`, in order: re.findall(r"(?u)\b\w+\b", text). A
 * run starts after a non-word character (or the start), where \b holds, and \w+ takes it
 * whole to the next non-word character, where \b holds again: so the pattern finds exactly
 * the maximal runs. */
static PyObject *word_tokens(PyObject *self, PyObject *args) {
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U:word_tokens", &text)) return NULL;
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    Py_ssize_t i = 0;
    while (i < n) {
        if (!is_word(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        const Py_ssize_t start = i;
        while (++i < n && is_word(PyUnicode_READ(kind, data, i))) {
        }
        PyObject *token = PyUnicode_Substring(text, start, i);
        if (!token || PyList_Append(out, token) < 0) {
            Py_XDECREF(token);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(token);
    }
    return out;
}

static PyMethodDef methods[] = {
    {"word_block", word_block, METH_VARARGS,
     "One text's word-block logits (features.block_one's arithmetic), or None."},
    {"char_block", char_block, METH_VARARGS,
     "One text's character-block logits from its words' n-gram ids, or None."},
    {"char_grams", char_grams, METH_VARARGS,
     "One whitespace word's character n-gram ids (scikit-learn's char_wb), as int64 bytes."},
    {"word_shares", word_shares, METH_VARARGS,
     "Each token's share of one text's word block (explain._word_block), float64 bytes."},
    {"char_shares", char_shares, METH_VARARGS,
     "Each token's share of one text's character block (explain._char_shares), float64 bytes."},
    {"word_tokens", word_tokens, METH_VARARGS,
     "The runs of word characters (re's \\w) in a text, as the default token pattern finds them."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_blocks",
    "One text's TF-IDF block logits, compiled (see counting.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__blocks(void) { return PyModule_Create(&module); }
