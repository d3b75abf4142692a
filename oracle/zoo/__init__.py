"""The mutant zoo: realistic buggy convolutions, one module per bug, each named after it.

Every mutant is `vectorized` with one bug planted: an argument bent on its way in, or a result bent on its way
out, the way the bug would bend it. They exist to prove that the oracle catches each kind of bug
(``conv-oracle selftest``, ``tests/test_zoo.py``); ``conv-oracle check oracle.zoo.<name>`` shows the report
each one gets.
"""

MUTANTS = (
    "padding_wrong_side",
    "output_size_ceil",
    "same_odd_pixel_first",
    "dilation_one_axis",
    "backward_stride_one_axis",
    "kernel_transposed",
    "dx_kernel_not_flipped",
    "groups_interleaved",
    "dw_missing_batch_sum",
    "db_averaged",
    "dx_padding_ge_kernel",
    "dx_stride_gt_kernel",
    "float32_inside_float64",
    "float32_result_as_float64",
    "input_modified_in_place",
    "output_buffer_reused",
    "last_batch_chunk_dropped",
    # where fast kernels block, tile, chunk and keep state
    "input_channel_tail",
    "output_channel_tail",
    "ragged_width_tile",
    "dw_ragged_row_tile",
    "dx_partial_batch_chunk",
    "large_kernel_path",
    "halo_capped",
    "scrambled_channels_last",
    "negative_stride_ignored",
    "stale_buffer_between_calls",
    # lower precision
    "bf16_accumulated_in_bf16",
    "float16_output_not_rounded",
    "tf32_one_operand",
    "float16_overflow_clamped",
    # the transposed convolution
    "transposed_output_padding_ignored",
    "transposed_output_padding_top_left",
    "transposed_size_without_output_padding",
    "transposed_padding_on_input",
    "transposed_kernel_not_flipped",
    "transposed_groups_swapped",
    "transposed_same_odd_row_top",
    "transposed_output_channel_tail",
    # native code that crashes, exits or hangs: the check survives each and reports it
    "segfault_stride_past_kernel",
    "abort_grouped_backward",
    "exit_on_empty_batch",
    "hang_padding_past_kernel",
    "crash_after_smaller_call",
)

IMPORT_MUTANTS = ("exits_on_import",)
"""Mutants that cannot even be imported: a check of one must end at once with a one-line usage error (exit 2)."""
