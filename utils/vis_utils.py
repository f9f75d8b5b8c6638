"""Plots for the assignment: sample images, loss curves, hyperparameter
search results and learned weights. Each function returns its matplotlib
Figure (the notebook shows it; tests inspect it)."""

import matplotlib.pyplot as plt
import numpy as np

_NUM_PIXELS = 32 * 32 * 3


def show_samples(X, y, class_names, samples_per_class=7, seed=0):
    """
    Show a few random training images of each class, one class per column.

    Inputs:
    - X: array (N, 32, 32, 3) of raw images, pixel values 0..255.
    - y: int array (N,) of labels in [0, len(class_names)).
    - class_names: list of C class names (column titles).
    - samples_per_class: images shown per class (rows).
    - seed: which random images are picked (fixed so reruns match).

    Returns:
    - the Figure, with samples_per_class * C axes.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 4 or X.shape[1:] != (32, 32, 3):
        raise ValueError("expected X of shape (N, 32, 32, 3), got %s instead; pass the "
                         "raw images, not the flattened rows" % (X.shape,))
    if y.shape != (X.shape[0],):
        raise ValueError("expected y of shape (%d,), got %s instead" % (X.shape[0], y.shape))
    if samples_per_class < 1:
        raise ValueError("expected samples_per_class >= 1, got %r instead" % (samples_per_class,))

    num_classes = len(class_names)
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(samples_per_class, num_classes, squeeze=False,
                             figsize=(num_classes, samples_per_class))
    for c, name in enumerate(class_names):
        idxs = np.flatnonzero(y == c)
        idxs = rng.choice(idxs, min(samples_per_class, idxs.size), replace=False)
        for row in range(samples_per_class):
            ax = axes[row, c]
            ax.axis('off')
            if row < idxs.size:
                # imshow needs uint8 for 0..255 values (floats must be 0..1).
                ax.imshow(np.clip(X[idxs[row]], 0, 255).astype(np.uint8))
        axes[0, c].set_title(name, fontsize=9)
    return fig


def plot_loss(loss_history, title=None):
    """
    Plot the loss at each training iteration.

    Inputs:
    - loss_history: sequence of losses, one per iteration (as train() returns).
    - title: optional figure title.

    Returns:
    - the Figure, with one axes.
    """
    losses = np.asarray(loss_history, dtype=np.float64).ravel()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(np.arange(losses.size), losses)
    ax.set_xlabel('Iteration number')
    ax.set_ylabel('Loss value')
    if title is not None:
        ax.set_title(title)
    return fig


def _log_scale(ax, axis, values):
    # A log axis cannot show 0 (reg = 0 is a common grid value); symlog can.
    values = np.asarray(values, dtype=np.float64)
    set_scale = ax.set_xscale if axis == 'x' else ax.set_yscale
    positive = values[values > 0]
    if positive.size == values.size:
        set_scale('log')
    else:
        linthresh = positive.min() if positive.size else 1.0
        top = positive.max() if positive.size else 1.0
        set_scale('symlog', linthresh=linthresh)
        if values.min() == 0:
            # No negative half: put 0 at the bottom edge, then one tick per
            # decade (the default ticks crowd into the linear part near 0).
            set_lim = ax.set_xlim if axis == 'x' else ax.set_ylim
            set_ticks = ax.set_xticks if axis == 'x' else ax.set_yticks
            set_lim(-0.3 * linthresh, top * 2)
            decades = np.arange(np.ceil(np.log10(linthresh)), np.floor(np.log10(top * 2)) + 1)
            set_ticks([0.0] + list(10.0 ** decades))


def plot_hyperparameter_results(results):
    """
    Show training and validation accuracy of a hyperparameter search, one
    dot per (learning rate, regularization strength), colored by accuracy,
    on log axes. The best validation accuracy is circled.

    Inputs:
    - results: dict mapping (learning_rate, reg) -> (train_acc, val_acc).

    Returns:
    - the Figure, with two plots (training, validation) and their colorbars.
    """
    if not results:
        raise ValueError("expected a non-empty dict (learning_rate, reg) -> "
                         "(train_acc, val_acc), got %r instead" % (results,))
    try:
        keys = list(results)
        lrs = np.array([k[0] for k in keys], dtype=np.float64)
        regs = np.array([k[1] for k in keys], dtype=np.float64)
        accs = np.array([results[k] for k in keys], dtype=np.float64)
    except (TypeError, IndexError, ValueError):
        raise ValueError("expected results to map (learning_rate, reg) -> (train_acc, "
                         "val_acc), got %r instead" % (results,)) from None
    if accs.shape != (len(keys), 2):
        raise ValueError("expected each result to be (train_acc, val_acc), got values of "
                         "shape %s instead" % (accs.shape[1:],))

    best = int(np.argmax(accs[:, 1]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, col, name in zip(axes, (0, 1), ('training', 'validation')):
        points = ax.scatter(lrs, regs, c=accs[:, col], s=120, cmap='viridis')
        fig.colorbar(points, ax=ax, label='%s accuracy' % name)
        ax.scatter(lrs[best], regs[best], s=300, facecolors='none', edgecolors='red')
        ax.margins(0.15)  # keep edge dots whole
        _log_scale(ax, 'x', lrs)
        _log_scale(ax, 'y', regs)
        ax.set_xlabel('learning rate')
        ax.set_ylabel('regularization strength')
        ax.set_title('CIFAR-10 %s accuracy' % name)
    fig.tight_layout()
    return fig


def show_weights(W, class_names):
    """
    Show the learned weights of each class as a 32x32 color image (the
    class "template"), each rescaled to the full 0..255 range.

    Inputs:
    - W: array (3073, C) with the bias row last, or (3072, C).
    - class_names: list of C class names.

    Returns:
    - the Figure, with C axes.
    """
    W = np.asarray(W, dtype=np.float64)
    num_classes = len(class_names)
    if W.ndim != 2 or W.shape[0] not in (_NUM_PIXELS, _NUM_PIXELS + 1) \
            or W.shape[1] != num_classes:
        raise ValueError("expected W of shape (3073, %d) or (3072, %d), got %s instead"
                         % (num_classes, num_classes, W.shape))
    # Rows are flattened (32, 32, 3) images; the bias row is not a pixel.
    templates = W[:_NUM_PIXELS].reshape(32, 32, 3, num_classes)

    fig, axes = plt.subplots(1, num_classes, squeeze=False,
                             figsize=(1.3 * num_classes, 1.8))
    for c, name in enumerate(class_names):
        w = templates[:, :, :, c]
        span = w.max() - w.min()
        img = 255.0 * (w - w.min()) / span if span > 0 else np.zeros_like(w)
        ax = axes[0, c]
        ax.imshow(img.astype(np.uint8))
        ax.axis('off')
        ax.set_title(name, fontsize=9)
    return fig
