/* Image preprocessing exactly as the model was trained (spec multimodal.md §2): the
 * budget-filling target size, the antialiased uint8 bicubic resize, and the cut into
 * 48x48 patches in the order the projector GGUF expects. */
#ifndef G4_MEDIA_IMAGE_PREP_H
#define G4_MEDIA_IMAGE_PREP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "media/image.h"

enum {
    IMAGE_PATCH_SIDE = 48,
    IMAGE_PATCH_VALUES = IMAGE_PATCH_SIDE * IMAGE_PATCH_SIDE * 3, /* 6912 */
    IMAGE_DEFAULT_BUDGET = 280,
    VIDEO_FRAME_BUDGET = 70,
};

/* True for the token budgets the model was trained with: 70, 140, 280, 560, 1120. */
bool image_budget_valid(int budget);

/* The size an image of width x height is resized to for a budget of soft tokens
 * (spec §2.2): aspect-preserving, both sides multiples of 48, filling the budget. */
g4_status image_target_size(int32_t width, int32_t height, int budget, int32_t *out_width,
                            int32_t *out_height, g4_err *err);

/* Antialiased bicubic resize that reproduces the reference's uint8 kernel bit for bit
 * (spec §2.3): width pass, then height pass, each skipped when its length is unchanged. */
g4_status image_resize(const rgb_image *in, int32_t width, int32_t height, rgb_image *out,
                       g4_err *err);

/* image_target_size + image_resize (a plain copy when the size is already right). */
g4_status image_prepare(const rgb_image *in, int budget, rgb_image *out, g4_err *err);

/* Cuts an image whose sides are multiples of 48 into (width/48)*(height/48) patches,
 * row-major over the grid. Patch t occupies out[t*6912 .. t*6912+6911] in channel-major
 * order: out[t*6912 + c*2304 + y*48 + x] = pixel(c, y, x) / 255. */
void image_patches(const rgb_image *img, float *out);

/* Patches first .. first + n - 1 only, into out[n][6912] (same layout). */
void image_patches_range(const rgb_image *img, int64_t first, int64_t n, float *out);

#endif
