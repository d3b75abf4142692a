"""The truth a variant is judged against: a reference's answer (`truth`: PyTorch in `torch_reference`, or the
loops of `naive`) and how far from it a correct result may lie (`tolerance`)."""
