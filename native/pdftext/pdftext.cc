// tally-pdftext reads PDFs' text layers as `pdftotext -layout -enc UTF-8`
// does, one after another in one long-lived process: starting pdftotext
// (loading poppler, its fonts and encodings) costs more CPU than reading a
// one-page invoice. The worker keeps a few of these running and falls back
// to pdftotext where this program is not installed.
//
// Protocol, on stdin and stdout, all integers big-endian uint32: once
// loaded, the program writes "TPT1"; then for each document
//   request:  max_pages, max_text_bytes, length, then length bytes of PDF
//   response: status (0 text, 1 unreadable), length, then length bytes of
//             text (pages end in form feeds, as pdftotext writes them) or
//             of the reason the PDF could not be read
// The process exits when stdin ends. It reads one document at a time; the
// caller kills and restarts it when a document takes too long.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <malloc.h>
#include <memory>
#include <string>
#include <vector>

#include "GlobalParams.h"
#include "PDFDoc.h"
#include "Stream.h"
#include "TextOutputDev.h"
#include "Error.h"

namespace {

// The first error poppler reported for the document being read: the
// reason given when it cannot be opened, as pdftotext's first stderr line.
std::string firstError;

void onError(ErrorCategory category, Goffset pos, const char *msg)
{
    if (!firstError.empty()) {
        return;
    }
    static const char *const names[] = { "Syntax Warning", "Syntax Error", "Config Error", "Command Line Error", "I/O Error", "Permission Error", "Unimplemented Feature", "Internal Error" };
    std::string name = category >= 0 && category < int(sizeof(names) / sizeof(names[0])) ? names[category] : "Error";
    if (pos >= 0) {
        firstError = name + " (" + std::to_string(pos) + "): " + msg;
    } else {
        firstError = name + ": " + msg;
    }
}

struct Capped
{
    std::string text;
    size_t max;
};

// Keeps the first max bytes, as the caller would keep of pdftotext's output.
void collect(void *stream, const char *text, int len)
{
    auto *out = static_cast<Capped *>(stream);
    if (len <= 0 || out->text.size() >= out->max) {
        return;
    }
    size_t room = out->max - out->text.size();
    out->text.append(text, size_t(len) < room ? size_t(len) : room);
}

bool readFull(void *buf, size_t n)
{
    return fread(buf, 1, n, stdin) == n;
}

bool readUint32(uint32_t *v)
{
    unsigned char b[4];
    if (!readFull(b, 4)) {
        return false;
    }
    *v = (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
    return true;
}

void writeUint32(uint32_t v)
{
    unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v };
    fwrite(b, 1, 4, stdout);
}

void answer(uint32_t status, const std::string &body)
{
    writeUint32(status);
    writeUint32(uint32_t(body.size()));
    fwrite(body.data(), 1, body.size(), stdout);
    fflush(stdout);
}

// forgetOutputIntents drops the catalog's OutputIntents from the document
// as read (the file is untouched). Every PDF/A, and so every ZUGFeRD or
// Factur-X invoice, names one with an ICC profile; for it poppler builds
// four colour transforms on each page, which costs more than reading the
// page's text, and text has no colour.
void forgetOutputIntents(PDFDoc &doc)
{
    XRef *xref = doc.getXRef();
    const Object &root = xref->getTrailerDict()->dictLookupNF("Root");
    if (!root.isRef()) {
        return;
    }
    Object catalog = xref->fetch(root.getRef());
    if (!catalog.isDict() || catalog.dictLookupNF("OutputIntents").isNull()) {
        return;
    }
    catalog.dictRemove("OutputIntents");
    xref->setModifiedObject(&catalog, root.getRef());
}

} // namespace

// Requests larger than this are refused without reading them whole.
static const uint32_t maxRequest = 1u << 30;

int main()
{
    globalParams = std::make_unique<GlobalParams>();
    globalParams->setTextEncoding("UTF-8");
    setErrorCallback(onError);
    // Ready: the caller waits for this before it sends a document.
    fputs("TPT1", stdout);
    fflush(stdout);

    for (;;) {
        uint32_t maxPages, maxText, length;
        if (!readUint32(&maxPages) || !readUint32(&maxText) || !readUint32(&length)) {
            return 0;
        }
        if (length > maxRequest) {
            fprintf(stderr, "tally-pdftext: request of %u bytes refused\n", length);
            return 2;
        }
        // Owned by the stream's document until it is deleted below.
        std::vector<char> pdf(length);
        if (length > 0 && !readFull(pdf.data(), length)) {
            return 0;
        }
        firstError.clear();
        Capped out { std::string(), maxText };
        {
            auto *stream = new MemStream(pdf.data(), 0, length, Object(objNull));
            PDFDoc doc(stream);
            if (!doc.isOk()) {
                answer(1, firstError.empty() ? "Couldn't open the PDF (error " + std::to_string(doc.getErrorCode()) + ")" : firstError);
                continue;
            }
            int last = doc.getNumPages();
            if (maxPages > 0 && int(maxPages) < last) {
                last = int(maxPages);
            }
            forgetOutputIntents(doc);
            TextOutputDev text(collect, &out, true, 0, false, false);
            if (!text.isOk()) {
                answer(1, "Couldn't start the text output");
                continue;
            }
            if (last >= 1) {
                doc.displayPages(&text, 1, last, 72, 72, 0, true, false, false);
            }
        }
        answer(0, out.text);
        // A long document's pages leave freed memory in malloc's arenas;
        // handing it back keeps an idle reader small between documents.
        malloc_trim(0);
    }
}
