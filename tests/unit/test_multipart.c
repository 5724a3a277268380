/* test_multipart.c: the multipart/form-data parser: a wx.uploadFile-shaped
 * body, the boundary header, a missing closing boundary, the part cap, no file
 * part, boundary text inside the data, preamble and epilogue, bad headers. */
#include <stdlib.h>

#include "multipart.h"
#include "test.h"

#define B "----WebKitFormBoundary7MA4YWxkTrZu0gW"

static mp_status_t parse(const char *body, size_t len, mp_part_t *parts, int max, int *n)
{
    return multipart_parse(body, len, B, parts, max, n);
}

static void test_boundary_header(void)
{
    char b[MULTIPART_BOUNDARY_MAX + 1];
    CHECK_INT(multipart_boundary("multipart/form-data; boundary=" B, b, sizeof b), 0);
    CHECK_STR(b, B);
    CHECK_INT(multipart_boundary("Multipart/Form-Data;boundary=\"a b:c\"; charset=utf-8", b, sizeof b), 0);
    CHECK_STR(b, "a b:c");
    CHECK_INT(multipart_boundary("multipart/form-data; charset=utf-8; BOUNDARY=xyz", b, sizeof b), 0);
    CHECK_STR(b, "xyz");
    CHECK_INT(multipart_boundary("application/json", b, sizeof b), -1);
    CHECK_INT(multipart_boundary("multipart/mixed; boundary=x", b, sizeof b), -1);
    CHECK_INT(multipart_boundary("multipart/form-dataX; boundary=x", b, sizeof b), -1);
    CHECK_INT(multipart_boundary(NULL, b, sizeof b), -1);
    CHECK_INT(multipart_boundary("multipart/form-data", b, sizeof b), -2);
    CHECK_INT(multipart_boundary("multipart/form-data; boundary=", b, sizeof b), -2);
    CHECK_INT(multipart_boundary("multipart/form-data; boundary=\"unterminated", b, sizeof b), -2);
    CHECK_INT(multipart_boundary("multipart/form-data; boundary=a<b", b, sizeof b), -2);
    char long_ct[200];
    snprintf(long_ct, sizeof long_ct, "multipart/form-data; boundary=%071d", 0);
    CHECK_INT(multipart_boundary(long_ct, b, sizeof b), -2); /* 71 > 70 */
}

static void test_good_body(void)
{
    static const char body[] = "--" B "\r\n"
                               "Content-Disposition: form-data; name=\"kind\"\r\n"
                               "\r\n"
                               "repair\r\n"
                               "--" B "\r\n"
                               "Content-Disposition: form-data; name=\"file\"; filename=\"wx_camera_1.jpg\"\r\n"
                               "Content-Type: image/jpeg\r\n"
                               "\r\n"
                               "\xff\xd8\xff\x00\r\nbinary\r\n\xff\xd9\r\n"
                               "--" B "--\r\n";
    mp_part_t parts[4];
    int n = -1;
    CHECK_INT(parse(body, sizeof body - 1, parts, 4, &n), MP_OK);
    CHECK_INT(n, 2);
    const mp_part_t *kind = multipart_find(parts, n, "kind");
    CHECK(kind != NULL);
    if (kind) {
        CHECK_INT(kind->len, 6);
        CHECK(memcmp(kind->data, "repair", 6) == 0);
        CHECK(kind->filename == NULL);
    }
    const mp_part_t *file = multipart_find(parts, n, "file");
    CHECK(file != NULL);
    if (file) {
        CHECK_INT(file->len, 16);
        CHECK(memcmp(file->data, "\xff\xd8\xff\x00\r\nbinary\r\n\xff\xd9", 16) == 0);
        CHECK(file->filename_len == 15 && memcmp(file->filename, "wx_camera_1.jpg", 15) == 0);
        CHECK(file->content_type_len == 10 && memcmp(file->content_type, "image/jpeg", 10) == 0);
        /* zero-copy: the data points into the body */
        CHECK(file->data > body && file->data < body + sizeof body);
    }
    CHECK(multipart_find(parts, n, "fil") == NULL);
}

static void test_missing_closing_boundary(void)
{
    static const char body[] = "--" B "\r\n"
                               "Content-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n"
                               "\r\n"
                               "data\r\n"
                               "--" B "\r\n"; /* another part announced, never sent */
    static const char cut[] = "--" B "\r\n"
                              "Content-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n"
                              "\r\n"
                              "data that just stops";
    static const char headers_cut[] = "--" B "\r\nContent-Disposition: form-data; name=\"file\"";
    mp_part_t parts[4];
    int n;
    CHECK_INT(parse(body, sizeof body - 1, parts, 4, &n), MP_ERR_UNTERMINATED);
    CHECK_INT(parse(cut, sizeof cut - 1, parts, 4, &n), MP_ERR_UNTERMINATED);
    CHECK_INT(parse(headers_cut, sizeof headers_cut - 1, parts, 4, &n), MP_ERR_UNTERMINATED);
}

static void test_too_many_parts(void)
{
    char body[4096];
    size_t len = 0;
    for (int i = 0; i < 5; i++)
        len += (size_t)snprintf(body + len, sizeof body - len,
                                "--" B "\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv%d\r\n", i, i);
    len += (size_t)snprintf(body + len, sizeof body - len, "--" B "--\r\n");
    mp_part_t parts[5];
    int n;
    CHECK_INT(parse(body, len, parts, 5, &n), MP_OK);
    CHECK_INT(n, 5);
    CHECK_INT(parse(body, len, parts, 4, &n), MP_ERR_TOO_MANY_PARTS);
}

static void test_no_file_part(void)
{
    static const char body[] = "--" B "\r\n"
                               "Content-Disposition: form-data; name=\"note\"\r\n"
                               "\r\n"
                               "hello\r\n"
                               "--" B "--";
    mp_part_t parts[4];
    int n;
    CHECK_INT(parse(body, sizeof body - 1, parts, 4, &n), MP_OK);
    CHECK_INT(n, 1);
    CHECK(multipart_find(parts, n, "file") == NULL);
    /* an empty form */
    static const char empty[] = "--" B "--\r\n";
    CHECK_INT(parse(empty, sizeof empty - 1, parts, 4, &n), MP_OK);
    CHECK_INT(n, 0);
}

static void test_boundary_inside_data(void)
{
    /* The boundary text may appear in the data as long as it is not a
     * delimiter line: without the leading CRLF, or followed by other bytes. */
    static const char body[] = "--" B "\r\n"
                               "Content-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n"
                               "\r\n"
                               "A--" B "B\r\n--" B "X\r\n--" B "\r"
                               "\r\n--" B "--\r\n";
    static const char data[] = "A--" B "B\r\n--" B "X\r\n--" B "\r";
    mp_part_t parts[2];
    int n;
    CHECK_INT(parse(body, sizeof body - 1, parts, 2, &n), MP_OK);
    CHECK_INT(n, 1);
    CHECK_INT(parts[0].len, sizeof data - 1);
    CHECK(memcmp(parts[0].data, data, sizeof data - 1) == 0);
}

static void test_preamble_epilogue_padding(void)
{
    static const char body[] = "This is a preamble.\r\n"
                               "--" B "  \r\n" /* transport padding after the delimiter */
                               "content-disposition: FORM-DATA; filename=\"p.png\"; name=file\r\n"
                               "\r\n"
                               "xyz\r\n"
                               "--" B "--\r\nepilogue that is ignored";
    mp_part_t parts[2];
    int n;
    CHECK_INT(parse(body, sizeof body - 1, parts, 2, &n), MP_OK);
    CHECK_INT(n, 1);
    CHECK(parts[0].name_len == 4 && memcmp(parts[0].name, "file", 4) == 0);
    CHECK(parts[0].len == 3 && memcmp(parts[0].data, "xyz", 3) == 0);
}

static void test_bad_headers_and_boundaries(void)
{
    static const char no_name[] = "--" B "\r\nContent-Disposition: form-data\r\n\r\nx\r\n--" B "--";
    static const char no_disposition[] = "--" B "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" B "--";
    static const char not_form_data[] = "--" B "\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--" B "--";
    static const char garbage_line[] = "--" B "\r\nno colon here\r\n\r\nx\r\n--" B "--";
    static const char other_boundary[] = "--other\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--other--";
    mp_part_t parts[2];
    int n;
    CHECK_INT(parse(no_name, sizeof no_name - 1, parts, 2, &n), MP_ERR_BAD_HEADERS);
    CHECK_INT(parse(no_disposition, sizeof no_disposition - 1, parts, 2, &n), MP_ERR_BAD_HEADERS);
    CHECK_INT(parse(not_form_data, sizeof not_form_data - 1, parts, 2, &n), MP_ERR_BAD_HEADERS);
    CHECK_INT(parse(garbage_line, sizeof garbage_line - 1, parts, 2, &n), MP_ERR_BAD_HEADERS);
    CHECK_INT(parse(other_boundary, sizeof other_boundary - 1, parts, 2, &n), MP_ERR_NO_BOUNDARY);
    CHECK_INT(parse("", 0, parts, 2, &n), MP_ERR_NO_BOUNDARY);
    /* an endless header block */
    size_t big = MULTIPART_HEADERS_MAX + 200;
    char *body = malloc(big);
    memset(body, 'a', big);
    memcpy(body, "--" B "\r\nX-Pad: ", sizeof("--" B "\r\nX-Pad: ") - 1);
    CHECK_INT(parse(body, big, parts, 2, &n), MP_ERR_BAD_HEADERS);
    free(body);
    CHECK(strlen(multipart_strerror(MP_ERR_UNTERMINATED)) > 0);
}

int main(void)
{
    RUN(test_boundary_header);
    RUN(test_good_body);
    RUN(test_missing_closing_boundary);
    RUN(test_too_many_parts);
    RUN(test_no_file_part);
    RUN(test_boundary_inside_data);
    RUN(test_preamble_epilogue_padding);
    RUN(test_bad_headers_and_boundaries);
    return TEST_REPORT();
}
