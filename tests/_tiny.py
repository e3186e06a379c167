"""A tiny SGENet configuration shared by the tests that need a fast model of the real architecture."""

TINY_SGENET = dict(
    channels=16, num_blocks=1, up_channels=16, out_kernel=3, guide_recognizer="textrec",
    recognizer={"channels": (8, 8, 16, 16), "dim": 32, "ffn": 32, "heads": 2, "depth": 1},
    align={"heads": 2, "ffn": 16, "self_layers": 1, "text_layers": 1, "image_layers": 1},
)
