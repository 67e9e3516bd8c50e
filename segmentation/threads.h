#ifndef PODIUM_SEGMENTATION_THREADS_H
#define PODIUM_SEGMENTATION_THREADS_H
#ifdef __cplusplus
extern "C" {
#endif
void podium_set_num_threads(int n);
int podium_get_num_threads(void);
#ifdef __cplusplus
}
#endif
#endif
