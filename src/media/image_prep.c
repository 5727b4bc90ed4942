/* Image preprocessing (spec multimodal.md §2.2-2.5): the budget-filling target size, the
 * reference's antialiased uint8 bicubic resize reproduced bit for bit, and the cut into
 * 48x48 channel-major patches. */
#include "media/image_prep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { PREP_MAX_PRECISION = 22 };

bool image_budget_valid(int budget)
{
    return budget == 70 || budget == 140 || budget == 280 || budget == 560 || budget == 1120;
}

/* floor(v / 48) * 48 for a non-negative v known to be small enough for int32. */
static int32_t floor_to_side(double v)
{
    return (int32_t)floor(v / IMAGE_PATCH_SIDE) * IMAGE_PATCH_SIDE;
}

static int32_t min_i64_i32(int64_t a, int32_t b)
{
    return a < (int64_t)b ? (int32_t)a : b;
}

g4_status image_target_size(int32_t width, int32_t height, int budget, int32_t *out_width,
                            int32_t *out_height, g4_err *err)
{
    if (!image_budget_valid(budget))
        return g4_fail(err, G4_ERR_INVALID_ARG,
                       "image token budget %d is not one of 70, 140, 280, 560, 1120", budget);
    if (width <= 0 || height <= 0 || width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE)
        return g4_fail(err, G4_ERR_INVALID_ARG, "invalid image size %dx%d", (int)width,
                       (int)height);
    const int64_t target_px = (int64_t)budget * IMAGE_PATCH_SIDE * IMAGE_PATCH_SIDE;
    const int32_t max_side = budget * IMAGE_PATCH_SIDE;
    const double f = sqrt((double)target_px / ((double)height * (double)width));
    int32_t th = floor_to_side(f * height);
    int32_t tw = floor_to_side(f * width);
    if (th == 0 && tw == 0)
        return g4_fail(err, G4_ERR_INVALID_ARG, "image %dx%d is too small to resize",
                       (int)width, (int)height);
    if (th == 0) {
        th = IMAGE_PATCH_SIDE;
        tw = min_i64_i32((int64_t)(width / height) * IMAGE_PATCH_SIDE, max_side);
    } else if (tw == 0) {
        tw = IMAGE_PATCH_SIDE;
        th = min_i64_i32((int64_t)(height / width) * IMAGE_PATCH_SIDE, max_side);
    }
    if ((int64_t)th * tw > target_px)
        return g4_fail(err, G4_ERR_INTERNAL, "image target %dx%d exceeds the budget %d",
                       (int)tw, (int)th, budget);
    *out_width = tw;
    *out_height = th;
    return G4_OK;
}

/* ---- resize: per-axis fixed-point weight tables ------------------------------------ */

/* One axis of the resize: output i reads n[i] inputs from first[i] with weights
 * w[i*kmax .. i*kmax+n[i]-1], scaled by 2^precision. */
typedef struct axis_weights {
    int32_t n_out;
    int32_t kmax;
    int precision;
    int32_t *first;
    int32_t *n;
    int32_t *w;
} axis_weights;

static double cubic_kernel(double t)
{
    const double a = -0.5;
    t = fabs(t);
    if (t < 1.0)
        return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
    if (t < 2.0)
        return ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a;
    return 0.0;
}

static void axis_free(axis_weights *ax)
{
    free(ax->first);
    free(ax->n);
    free(ax->w);
    memset(ax, 0, sizeof(*ax));
}

/* Normalised float weights of output i into row (kmax entries); returns their max |w|. */
static double axis_row(axis_weights *ax, double *row, int32_t i, int32_t n_in, double scale)
{
    const double support = scale >= 1.0 ? 2.0 * scale : 2.0;
    const double inv = scale >= 1.0 ? 1.0 / scale : 1.0;
    const double center = scale * (i + 0.5);
    int64_t xmin = (int64_t)(center - support + 0.5);
    xmin = xmin < 0 ? 0 : xmin;
    int64_t xmax = (int64_t)(center + support + 0.5);
    xmax = xmax < n_in ? xmax : n_in;
    int64_t n = xmax - xmin;
    n = n < 0 ? 0 : (n > ax->kmax ? ax->kmax : n);
    double sum = 0.0, max_w = 0.0;
    for (int64_t j = 0; j < n; j++) {
        row[j] = cubic_kernel(((double)(j + xmin) - center + 0.5) * inv);
        sum += row[j];
    }
    for (int64_t j = 0; j < n && sum != 0.0; j++)
        row[j] /= sum;
    for (int64_t j = 0; j < n; j++)
        max_w = fabs(row[j]) > max_w ? fabs(row[j]) : max_w;
    ax->first[i] = (int32_t)xmin;
    ax->n[i] = (int32_t)n;
    return max_w;
}

/* Largest precision <= 22 at which the biggest weight still fits an int16. (Normalised
 * weights stay below ~1.1, so p >= 14 in practice; the floor of 1 keeps the rounding bias
 * 2^(p-1) defined.) */
static int axis_precision(double max_w)
{
    int p = PREP_MAX_PRECISION;
    while (p > 1 && (int64_t)(0.5 + max_w * (double)(1 << p)) >= (1 << 15))
        p--;
    return p;
}

static int32_t round_away(double v)
{
    return v < 0.0 ? (int32_t)(v - 0.5) : (int32_t)(v + 0.5);
}

static g4_status axis_init(axis_weights *ax, int32_t n_in, int32_t n_out, g4_err *err)
{
    const double scale = (double)n_in / (double)n_out;
    const double support = scale >= 1.0 ? 2.0 * scale : 2.0;
    memset(ax, 0, sizeof(*ax));
    ax->n_out = n_out;
    ax->kmax = (int32_t)ceil(support) * 2 + 1;
    ax->first = malloc((size_t)n_out * sizeof(int32_t));
    ax->n = malloc((size_t)n_out * sizeof(int32_t));
    ax->w = malloc((size_t)n_out * (size_t)ax->kmax * sizeof(int32_t));
    double *fw = malloc((size_t)n_out * (size_t)ax->kmax * sizeof(double));
    if (!ax->first || !ax->n || !ax->w || !fw) {
        free(fw);
        axis_free(ax);
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for resize weights");
    }
    double max_w = 0.0;
    for (int32_t i = 0; i < n_out; i++) {
        double m = axis_row(ax, fw + (size_t)i * (size_t)ax->kmax, i, n_in, scale);
        max_w = m > max_w ? m : max_w;
    }
    ax->precision = axis_precision(max_w);
    const double unit = (double)(1 << ax->precision);
    for (int32_t i = 0; i < n_out; i++)
        for (int32_t j = 0; j < ax->n[i]; j++) {
            size_t k = (size_t)i * (size_t)ax->kmax + (size_t)j;
            ax->w[k] = round_away(fw[k] * unit);
        }
    free(fw);
    return G4_OK;
}

/* ---- resize: the two passes --------------------------------------------------------- */

static uint8_t clamp_shift(int64_t acc, int precision)
{
    acc >>= precision; /* arithmetic shift (floor), as in the reference */
    return (uint8_t)(acc < 0 ? 0 : (acc > 255 ? 255 : acc));
}

/* Resizes every row of in (width in->width) to ax->n_out pixels into out. */
static void pass_width(const rgb_image *in, const axis_weights *ax, rgb_image *out)
{
    const int64_t bias = (int64_t)1 << (ax->precision - 1);
    for (int32_t y = 0; y < in->height; y++) {
        const uint8_t *src = in->pixels + (size_t)y * (size_t)in->width * 3;
        uint8_t *dst = out->pixels + (size_t)y * (size_t)out->width * 3;
        for (int32_t i = 0; i < ax->n_out; i++) {
            const uint8_t *s = src + (size_t)ax->first[i] * 3;
            const int32_t *w = ax->w + (size_t)i * (size_t)ax->kmax;
            int64_t r = bias, g = bias, b = bias;
            for (int32_t j = 0; j < ax->n[i]; j++) {
                r += (int64_t)s[3 * j] * w[j];
                g += (int64_t)s[3 * j + 1] * w[j];
                b += (int64_t)s[3 * j + 2] * w[j];
            }
            dst[3 * i] = clamp_shift(r, ax->precision);
            dst[3 * i + 1] = clamp_shift(g, ax->precision);
            dst[3 * i + 2] = clamp_shift(b, ax->precision);
        }
    }
}

/* Resizes every column of in (height in->height) to ax->n_out rows into out, one
 * output row at a time with a row of accumulators. */
static g4_status pass_height(const rgb_image *in, const axis_weights *ax, rgb_image *out,
                             g4_err *err)
{
    const size_t row_len = (size_t)in->width * 3;
    int64_t *acc = malloc(row_len * sizeof(int64_t));
    if (!acc)
        return g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for the resize");
    for (int32_t i = 0; i < ax->n_out; i++) {
        const int32_t *w = ax->w + (size_t)i * (size_t)ax->kmax;
        for (size_t k = 0; k < row_len; k++)
            acc[k] = (int64_t)1 << (ax->precision - 1);
        for (int32_t j = 0; j < ax->n[i]; j++) {
            const uint8_t *s = in->pixels + (size_t)(ax->first[i] + j) * row_len;
            for (size_t k = 0; k < row_len; k++)
                acc[k] += (int64_t)s[k] * w[j];
        }
        uint8_t *dst = out->pixels + (size_t)i * row_len;
        for (size_t k = 0; k < row_len; k++)
            dst[k] = clamp_shift(acc[k], ax->precision);
    }
    free(acc);
    return G4_OK;
}

/* One pass along the width (horizontal = true) or the height into a new image. */
static g4_status resize_pass(const rgb_image *in, int32_t n_out, bool horizontal,
                             rgb_image *out, g4_err *err)
{
    axis_weights ax;
    int32_t n_in = horizontal ? in->width : in->height;
    g4_status st = axis_init(&ax, n_in, n_out, err);
    if (st != G4_OK)
        return st;
    st = rgb_image_alloc(out, horizontal ? n_out : in->width, horizontal ? in->height : n_out,
                         err);
    if (st == G4_OK && horizontal)
        pass_width(in, &ax, out);
    else if (st == G4_OK)
        st = pass_height(in, &ax, out, err);
    if (st != G4_OK)
        rgb_image_free(out);
    axis_free(&ax);
    return st;
}

static g4_status image_copy(const rgb_image *in, rgb_image *out, g4_err *err)
{
    g4_status st = rgb_image_alloc(out, in->width, in->height, err);
    if (st == G4_OK)
        memcpy(out->pixels, in->pixels, (size_t)in->width * (size_t)in->height * 3);
    return st;
}

g4_status image_resize(const rgb_image *in, int32_t width, int32_t height, rgb_image *out,
                       g4_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!in || !in->pixels || in->width <= 0 || in->height <= 0)
        return g4_fail(err, G4_ERR_INVALID_ARG, "resize of an empty image");
    if (width <= 0 || height <= 0)
        return g4_fail(err, G4_ERR_INVALID_ARG, "invalid resize target %dx%d", (int)width,
                       (int)height);
    if (width == in->width && height == in->height)
        return image_copy(in, out, err);
    if (height == in->height)
        return resize_pass(in, width, true, out, err);
    if (width == in->width)
        return resize_pass(in, height, false, out, err);
    rgb_image tmp = {0};
    g4_status st = resize_pass(in, width, true, &tmp, err);
    if (st == G4_OK)
        st = resize_pass(&tmp, height, false, out, err);
    rgb_image_free(&tmp);
    return st;
}

g4_status image_prepare(const rgb_image *in, int budget, rgb_image *out, g4_err *err)
{
    int32_t tw = 0, th = 0;
    memset(out, 0, sizeof(*out));
    if (!in || !in->pixels)
        return g4_fail(err, G4_ERR_INVALID_ARG, "preparing an empty image");
    g4_status st = image_target_size(in->width, in->height, budget, &tw, &th, err);
    if (st != G4_OK)
        return st;
    return image_resize(in, tw, th, out, err);
}

/* ---- patches ------------------------------------------------------------------------ */

/* One 48x48 patch whose top-left pixel is (x0, y0), channel-major. */
static void cut_patch(const rgb_image *img, int32_t x0, int32_t y0, const float *lut,
                      float *out)
{
    const int side = IMAGE_PATCH_SIDE;
    for (int y = 0; y < side; y++) {
        const uint8_t *row =
            img->pixels + ((size_t)(y0 + y) * (size_t)img->width + (size_t)x0) * 3;
        for (int x = 0; x < side; x++)
            for (int c = 0; c < 3; c++)
                out[c * side * side + y * side + x] = lut[row[3 * x + c]];
    }
}

void image_patches_range(const rgb_image *img, int64_t first, int64_t n, float *out)
{
    /* v * (1/255) in float32, as the reference's rescale multiplies by its factor. */
    float lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (float)v * (float)(1.0 / 255.0);
    const int64_t nx = img->width / IMAGE_PATCH_SIDE;
    for (int64_t i = 0; i < n && nx > 0; i++) {
        const int64_t t = first + i;
        cut_patch(img, (int32_t)(t % nx) * IMAGE_PATCH_SIDE, (int32_t)(t / nx) * IMAGE_PATCH_SIDE,
                  lut, out + (size_t)i * IMAGE_PATCH_VALUES);
    }
}

void image_patches(const rgb_image *img, float *out)
{
    const int64_t nx = img->width / IMAGE_PATCH_SIDE, ny = img->height / IMAGE_PATCH_SIDE;
    image_patches_range(img, 0, nx * ny, out);
}
