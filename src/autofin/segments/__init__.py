"""Customer segmentation: rule segments as data, learned clusters, need profiles and product fit."""
