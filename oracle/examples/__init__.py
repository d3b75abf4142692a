"""Worked examples that ship with the package: the seed article's example (`seed_article`), a contributed FFT
variant (`fft_conv`), a PyTorch-style NCHW variant that declares its layout (`nchw_conv`), and a forward pass on
``scipy.signal.correlate`` (`scipy_conv`, needs scipy). Each variant is a target: ``conv-oracle check
oracle.examples.fft_conv``."""
