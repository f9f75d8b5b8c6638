"""Plots for the assignment: sample images, the mean image, training curves,
hyperparameter search results and the learned weights, plus one number that
says whether the weight pictures show class templates (template_correlation).

Each plotting function returns its matplotlib Figure (the notebook shows it;
tests inspect it). Captions are part of the figure, so a picture keeps its
explanation wherever it is shown.
"""

import math
import numbers

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.ticker import MaxNLocator

_IMAGE_SHAPE = (32, 32, 3)
_NUM_PIXELS = 32 * 32 * 3
_WEIGHT_COLUMNS = 5  # templates per row in show_weights (10 classes: 2 x 5)


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
    if X.ndim != 4 or X.shape[1:] != _IMAGE_SHAPE:
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


MEAN_IMAGE_CAPTION = ("The mean image: the average of all training images,\n"
                      "taken separately for every pixel and colour channel.\n"
                      "It is subtracted from every image (training, validation\n"
                      "and test) before the classifiers see it.")


def show_mean_image(mean_image, caption=True):
    """
    Show the mean training image with a caption saying what it is.

    Inputs:
    - mean_image: array (32, 32, 3) or (3072,) of pixel values 0..255, as
      get_CIFAR10_data returns in data['mean_image'].
    - caption: write under the image what it is (False: the notebook's text says it).

    Returns:
    - the Figure, with one axes holding the image and the caption as figure text.
    """
    image = np.asarray(mean_image, dtype=np.float64)
    if image.shape not in (_IMAGE_SHAPE, (_NUM_PIXELS,)):
        raise ValueError("expected mean_image of shape (32, 32, 3) or (3072,), got %s "
                         "instead; pass data['mean_image']" % (image.shape,))
    if not np.all(np.isfinite(image)):
        raise ValueError("expected finite pixel values in mean_image, got nan or inf instead")
    image = image.reshape(_IMAGE_SHAPE)

    fig = plt.figure(figsize=(4.5, 5))
    ax = fig.add_axes((0.15, 0.27, 0.7, 0.63))
    ax.imshow(np.clip(np.rint(image), 0, 255).astype(np.uint8))
    ax.axis('off')
    ax.set_title('mean training image')
    if caption:
        fig.text(0.5, 0.03, MEAN_IMAGE_CAPTION, ha='center', va='bottom', fontsize=9)
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


def _curve(values, name, length):
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (length,):
        raise ValueError("expected %s to be a sequence of %d values (one per step), got "
                         "shape %s instead" % (name, length, values.shape))
    return values


def plot_training(steps, data_loss, reg_loss, val_acc=None, title=None):
    """
    Plot how training went: the data loss and the regularization loss as
    separate panels, each with its own vertical scale, and optionally the
    validation accuracy in a third panel.

    The total loss is their sum, but early on it is mostly the regularization
    term of the random start decaying; on one shared scale the data loss would
    look flat even while the classifier learns.

    Inputs:
    - steps: sequence (T,) of iteration numbers at which the values were taken.
    - data_loss: sequence (T,), the average data loss (hinge or cross-entropy).
    - reg_loss: sequence (T,), the regularization loss reg * sum(W * W).
    - val_acc: optional sequence (T,) of validation accuracies; nan where it was
      not measured (those steps are skipped).
    - title: optional title over the panels (put the learning rate and
      regularization strength in it).

    Returns:
    - the Figure, with two axes (three with val_acc): data loss, regularization
      loss, validation accuracy.
    """
    steps = np.asarray(steps, dtype=np.float64)
    if steps.ndim != 1 or steps.size == 0:
        raise ValueError("expected steps to be a non-empty sequence of iteration numbers, "
                         "got shape %s instead" % (steps.shape,))
    curves = [('data loss', _curve(data_loss, 'data_loss', steps.size)),
              ('regularization loss', _curve(reg_loss, 'reg_loss', steps.size))]
    if val_acc is not None:
        curves.append(('validation accuracy', _curve(val_acc, 'val_acc', steps.size)))

    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.8),
                             sharex=True, squeeze=False, layout='constrained')
    for ax, (name, values), color in zip(axes[0], curves, ('C0', 'C1', 'C2')):
        measured = np.isfinite(values) if name == 'validation accuracy' else slice(None)
        marker = 'o' if name == 'validation accuracy' else None
        ax.plot(steps[measured], values[measured], color=color, marker=marker)
        ax.set_xlabel('iteration')
        ax.set_title(name)
        ax.grid(alpha=0.3)
    if title is not None:
        fig.suptitle(title)
    return fig


def _accuracies(results):
    if not isinstance(results, dict) or not results:
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
    if lrs.shape != (len(keys),) or accs.shape != (len(keys), 2):
        raise ValueError("expected each entry to be (learning_rate, reg) -> (train_acc, "
                         "val_acc), got %r instead" % (next(iter(results.items())),))
    finite = accs[np.isfinite(accs)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise ValueError("expected accuracies between 0 and 1 (fractions, not percent), got "
                         "values from %g to %g instead" % (finite.min(), finite.max()))
    return lrs, regs, accs


def _log10_positions(values, name, allow_zero):
    """log10 of each value; zeros (allowed for reg) go one decade below the
    smallest positive value. Returns (positions, position of zero or None)."""
    bad = ~np.isfinite(values) | (values < 0) | ((values == 0) & (not allow_zero))
    if bad.any():
        raise ValueError("expected every %s to be %s, got %r instead"
                         % (name, 'positive or 0' if allow_zero else 'positive',
                            values[bad][0]))
    positive = values > 0
    logs = np.zeros_like(values)
    logs[positive] = np.log10(values[positive])
    if positive.all():
        return logs, None
    zero_at = math.floor(logs[positive].min()) - 1.0 if positive.any() else 0.0
    logs[~positive] = zero_at
    return logs, zero_at


def _label_zero_tick(ax, logs, zero_at):
    # log10(0) does not exist: reg = 0 sits one decade below the rest with its
    # own tick, and the other ticks stay log10 values.
    positive = logs[logs != zero_at]
    ticks = []
    if positive.size:
        lo, hi = positive.min(), positive.max()
        ticks = [t for t in MaxNLocator(nbins=4).tick_values(lo, hi)
                 if lo - 0.5 <= t <= hi + 0.5 and t > zero_at + 0.5]
    ax.set_yticks([zero_at] + ticks, ['reg = 0'] + ['%g' % t for t in ticks])


# A run counts as having learned only clearly above chance: a diverged run's accuracy
# wanders around chance (0.097, 0.103, ...), and colouring those stretches the scale.
_LEARNED_ABOVE_CHANCE = 1.5


def _is_diverged(acc, chance):
    return ~np.isfinite(acc) | (acc <= _LEARNED_ABOVE_CHANCE * chance)


def plot_hyperparameter_results(results, chance=0.1):
    """
    Show the training and validation accuracy of a hyperparameter search:
    one point per (learning rate, regularization strength), at (log10 lr,
    log10 reg), with its accuracy written beside it.

    Both panels share ONE colour scale, from the worst to the best accuracy of the
    runs that learned, in either panel: colours compare across panels, and neither
    chance nor a diverged run stretches the scale so that the good runs look alike.
    A run whose training or validation accuracy is nan/inf (diverged) or at most
    1.5 x chance did not learn: it is a grey cross instead of a coloured dot, in
    both panels alike. The run that learned with the best validation accuracy is
    circled in both panels.

    Inputs:
    - results: dict mapping (learning_rate, reg) -> (train_acc, val_acc), with
      accuracies as fractions in [0, 1]; learning rates > 0, reg >= 0.
    - chance: the accuracy of guessing (0.1 for 10 classes): runs up to 1.5 x chance
      did not learn.

    Returns:
    - the Figure, with three axes: training, validation, and their one colorbar.
    """
    lrs, regs, accs = _accuracies(results)
    if isinstance(chance, bool) or not isinstance(chance, numbers.Real) \
            or not 0 <= chance < 1:
        raise ValueError("expected chance to be a number in [0, 1), got %r instead" % (chance,))
    x, _ = _log10_positions(lrs, 'learning rate', allow_zero=False)
    y, reg_zero_at = _log10_positions(regs, 'regularization strength', allow_zero=True)

    # Decided once per run, so that a run looks the same in both panels.
    run_learned = ~_is_diverged(accs, chance).any(axis=1)
    learned = accs[run_learned]
    best_acc = learned.max() if learned.size else chance + 0.1
    worst_acc = learned.min() if learned.size > 1 and learned.min() < best_acc else chance
    norm = Normalize(vmin=worst_acc, vmax=best_acc, clip=True)
    cmap = plt.get_cmap('viridis')
    val = accs[:, 1]
    best = int(np.argmax(np.where(run_learned, val, -np.inf))) if run_learned.any() else None

    fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout='constrained')
    for ax, col, name in zip(axes, (0, 1), ('training', 'validation')):
        acc = accs[:, col]
        diverged, ok = ~run_learned, run_learned
        ax.scatter(x[ok], y[ok], c=acc[ok], norm=norm, cmap=cmap, s=120, zorder=2)
        ax.plot(x[diverged], y[diverged], linestyle='none', marker='x', color='grey',
                markersize=9, markeredgewidth=2, zorder=2,
                label='diverged or near chance (<= %g)' % (_LEARNED_ABOVE_CHANCE * chance) if diverged.any() else None)
        if best is not None:
            ax.plot(x[best], y[best], linestyle='none', marker='o', markersize=19,
                    markerfacecolor='none', markeredgecolor='red', markeredgewidth=1.5,
                    zorder=3, label='best validation accuracy')
        for xi, yi, a, div in zip(x, y, acc, diverged):
            ax.annotate('%.3f' % a, (xi, yi), xytext=(0, 9), textcoords='offset points',
                        ha='center', va='bottom', fontsize=7,
                        color='grey' if div else 'black')
        ax.margins(0.15)  # keep edge points and their labels whole
        if reg_zero_at is not None:
            _label_zero_tick(ax, y, reg_zero_at)
        ax.set_xlabel('log10 learning rate')
        ax.set_ylabel('log10 regularization strength')
        ax.set_title('CIFAR-10 %s accuracy' % name)
    # One key for both panels, outside them so it hides no point.
    keys = {}
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        keys.update(zip(labels, handles))
    if keys:
        fig.legend(list(keys.values()), list(keys), loc='outside lower center',
                   ncols=len(keys), fontsize=8)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes,
                 label='accuracy (one scale for both panels: %.3f to %.3f)' % (worst_acc, best_acc))
    return fig


def _weight_templates(W, num_classes=None):
    """W (3073 or 3072, C) -> float64 templates (32, 32, 3, C), bias row dropped;
    num_classes, if given, is the C that W must have."""
    W = np.asarray(W, dtype=np.float64)
    classes = 'C' if num_classes is None else num_classes
    if W.ndim != 2 or W.shape[0] not in (_NUM_PIXELS, _NUM_PIXELS + 1) \
            or (num_classes is not None and W.shape[1] != num_classes):
        raise ValueError("expected W of shape (3073, %s) or (3072, %s), got %s instead; "
                         "pass the classifier's W (one column per class)"
                         % (classes, classes, W.shape))
    if not np.all(np.isfinite(W)):
        raise ValueError("expected finite weights, got nan or inf in W instead; training "
                         "diverged (try a smaller learning rate)")
    # Rows are flattened (32, 32, 3) images; the bias row is not a pixel.
    return W[:_NUM_PIXELS].reshape(_IMAGE_SHAPE + (W.shape[1],))


WEIGHTS_CAPTION = ("Each template is scaled to its own range (its smallest weight to 0, its "
                   "largest to 255):\ncompare the patterns within a template, not the "
                   "brightness between templates. The bias is not shown.")


def show_weights(W, class_names, caption=True, title=None):
    """
    Show the learned weights of each class as a 32x32 colour image (the
    class "template") in a grid of 5 columns (10 classes: 2 x 5). Each
    template is min-max scaled to 0..255 separately.

    Inputs:
    - W: array (3073, C) with the bias row last, or (3072, C).
    - class_names: list of C class names (the titles).
    - caption: write under the grid that each template has its own scale.
    - title: optional title above the grid (e.g. which model the weights are from).

    Returns:
    - the Figure, with C axes in a ceil(C / 5) x min(C, 5) grid.
    """
    num_classes = len(class_names)
    templates = _weight_templates(W, num_classes)
    ncols = min(num_classes, _WEIGHT_COLUMNS)
    nrows = math.ceil(num_classes / _WEIGHT_COLUMNS)

    bottom = 0.65 if caption else 0.1  # inches under the grid, for the caption
    top = 0.75 if title else 0.35  # inches above the grid, for the title
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(1.7 * ncols + 0.2, 1.95 * nrows + bottom + top))
    if title:
        fig.suptitle(title, y=1 - 0.15 / fig.get_figheight(), va='top')
    fig.subplots_adjust(left=0.1 / fig.get_figwidth(), right=1 - 0.1 / fig.get_figwidth(),
                        bottom=bottom / fig.get_figheight(), top=1 - top / fig.get_figheight(),
                        wspace=0.08, hspace=0.25)
    for c, ax in enumerate(axes.flat):
        if c >= num_classes:
            fig.delaxes(ax)  # the last row may be short
            continue
        w = templates[:, :, :, c]
        span = w.max() - w.min()
        img = 255.0 * (w - w.min()) / span if span > 0 else np.zeros_like(w)
        ax.imshow(img.astype(np.uint8))
        ax.axis('off')
        ax.set_title(class_names[c], fontsize=9)
    if caption:
        fig.text(0.5, 0.1 / fig.get_figheight(), WEIGHTS_CAPTION, ha='center',
                 va='bottom', fontsize=7.5)
    return fig


def _class_labels(y, n, num_classes):
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError("expected y of shape (%d,) (one label per image), got %s instead"
                         % (n, y.shape))
    if y.dtype.kind not in 'iu':
        if y.dtype.kind != 'f' or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError("expected integer class labels in y, got dtype %s instead"
                             % y.dtype)
        y = y.astype(np.int64)
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError("expected labels in [0, %d) (one per column of W), got labels from "
                         "%d to %d instead" % (num_classes, y.min(), y.max()))
    return y


def template_correlation(W, X_raw, y):
    """
    How much each learned weight image looks like its class: for each class c,
    the Pearson correlation of the weight image W[:3072, c] with the mean
    training image of class c, taken as the classifier sees it, i.e. relative
    to the mean image of all N training images (the mean that get_CIFAR10_data
    subtracts). Near 1: the weights show a smooth class template; near 0: they
    look like noise (e.g. still mostly the random start).

    The mean of all images is subtracted here, so raw images and mean-subtracted
    ones give the same numbers. Without it every class mean would be mostly the
    same average image (a grey blob), which the weights need not contain: a
    score W.T x of mean-subtracted x only sees how a class differs from it.

    Inputs:
    - W: array (3073, C) with the bias row last, or (3072, C).
    - X_raw: the training images (N, 32, 32, 3), or the same images flattened to
      rows (N, 3072) - raw (0..255) or mean-subtracted, but without the bias
      column (e.g. data['X_train'][:, :3072]).
    - y: int array (N,) of labels in [0, C); every class must have an image.

    Returns:
    - float64 array (C,) of correlations in [-1, 1]; nan for a class whose
      weight image is constant (e.g. all zeros).
    """
    templates = _weight_templates(W)
    num_classes = templates.shape[-1]
    X = np.asarray(X_raw)
    if X.ndim == 4 and X.shape[1:] == _IMAGE_SHAPE:
        X = X.reshape(X.shape[0], _NUM_PIXELS)
    if X.ndim != 2 or X.shape[1] != _NUM_PIXELS:
        raise ValueError("expected X_raw of shape (N, 32, 32, 3) or (N, 3072), got %s "
                         "instead; pass the images, not the rows with the bias column"
                         % (X.shape,))
    y = _class_labels(y, X.shape[0], num_classes)
    counts = np.bincount(y, minlength=num_classes)
    if np.any(counts == 0):
        raise ValueError("expected at least one image of each of the %d classes, got none "
                         "of class %d instead" % (num_classes, np.flatnonzero(counts == 0)[0]))

    # One class at a time: a float64 copy of a whole uint8 training set would
    # take 8 times its memory.
    class_means = np.column_stack([X[y == c].mean(axis=0, dtype=np.float64)
                                   for c in range(num_classes)])
    overall_mean = class_means @ (counts / counts.sum())  # the mean of all N images
    deviations = class_means - overall_mean[:, None]
    weights = templates.reshape(_NUM_PIXELS, num_classes)
    corr = np.empty(num_classes)
    for c in range(num_classes):
        with np.errstate(invalid='ignore', divide='ignore'):  # constant image -> nan
            corr[c] = np.corrcoef(weights[:, c], deviations[:, c])[0, 1]
    return corr
