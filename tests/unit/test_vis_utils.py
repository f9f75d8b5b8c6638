"""Tests for utils/vis_utils.py with the Agg backend (set in conftest.py): what each
figure shows is read back from its matplotlib objects (axes grid, colour norm, markers,
texts), and template_correlation is checked against a direct computation and on
planted weights (class means -> 1, noise -> about 0)."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from utils.data_utils import CLASS_NAMES
from utils.vis_utils import (plot_hyperparameter_results, plot_loss, plot_training,
                             show_mean_image, show_samples, show_weights,
                             template_correlation)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close('all')


def num_images(fig):
    return sum(len(ax.get_images()) for ax in fig.axes)


def fake_images(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 255, size=(n, 32, 32, 3))
    y = np.arange(n) % 10
    return X, y


def test_show_samples_grid():
    X, y = fake_images()
    fig = show_samples(X, y, CLASS_NAMES, samples_per_class=4)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 40 and num_images(fig) == 40
    assert [fig.axes[c].get_title() for c in range(10)] == CLASS_NAMES


def test_show_samples_class_with_few_images():
    X, y = fake_images(n=23)  # classes 0-2 have 3 images, the rest 2
    fig = show_samples(X, y, CLASS_NAMES, samples_per_class=3)
    assert len(fig.axes) == 30 and num_images(fig) == 23


def test_show_samples_rejects_flat_rows():
    X, y = fake_images()
    with pytest.raises(ValueError, match='32, 32, 3'):
        show_samples(X.reshape(60, -1), y, CLASS_NAMES)


def test_show_samples_real_subset(cifar10_dir):
    from utils.data_utils import load_CIFAR_batch
    X, y = load_CIFAR_batch(cifar10_dir + '/test_batch')
    fig = show_samples(X, y, CLASS_NAMES)
    assert len(fig.axes) == 70 and num_images(fig) == 70


def test_plot_loss():
    losses = list(np.linspace(9.0, 2.0, 50))
    fig = plot_loss(losses, title='SVM')
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title() == 'SVM'
    assert np.allclose(ax.lines[0].get_ydata(), losses)
    assert plot_loss(losses).axes[0].get_title() == ''


def test_plot_loss_rejects_nothing_it_used_to_accept():
    # Old callers pass train()'s list; a numpy array works the same way.
    fig = plot_loss(np.array([3.0, 2.0, 1.5]))
    assert np.allclose(fig.axes[0].lines[0].get_ydata(), [3.0, 2.0, 1.5])


# --- plot_training ------------------------------------------------------------------

def training_curves():
    steps = np.arange(0, 1000, 50)
    data_loss = 2.3 - 0.4 * (1 - np.exp(-steps / 300))  # 2.3 -> ~1.9: learning
    reg_loss = 40.0 * np.exp(-steps / 150) + 0.5        # 40 -> 0.5: the decaying start
    val_acc = np.where(steps % 200 == 0, 0.2 + 0.1 * steps / 1000, np.nan)
    return steps, data_loss, reg_loss, val_acc


def test_plot_training_separate_scales():
    steps, data_loss, reg_loss, val_acc = training_curves()
    fig = plot_training(steps, data_loss, reg_loss, val_acc, title='Softmax, lr 1e-7, reg 2.5e4')
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ['data loss', 'regularization loss',
                                                  'validation accuracy']
    data_ax, reg_ax, val_ax = fig.axes
    assert np.allclose(data_ax.lines[0].get_ydata(), data_loss)
    assert np.allclose(reg_ax.lines[0].get_ydata(), reg_loss)
    # The data loss has its own scale: its 0.4 drop fills the panel instead of
    # being a flat line beside a regularization term 100 times larger.
    low, high = data_ax.get_ylim()
    assert high - low < 1.0 and low > 1.5
    assert reg_ax.get_ylim()[1] > 40
    # Validation accuracy only where it was measured.
    measured = np.isfinite(val_acc)
    assert np.allclose(val_ax.lines[0].get_xdata(), steps[measured])
    assert np.allclose(val_ax.lines[0].get_ydata(), val_acc[measured])
    assert fig._suptitle.get_text() == 'Softmax, lr 1e-7, reg 2.5e4'


def test_plot_training_without_validation():
    steps, data_loss, reg_loss, _ = training_curves()
    fig = plot_training(list(steps), list(data_loss), list(reg_loss))
    assert [ax.get_title() for ax in fig.axes] == ['data loss', 'regularization loss']
    assert fig._suptitle is None


def test_plot_training_rejects_mismatched_curves():
    steps, data_loss, reg_loss, val_acc = training_curves()
    with pytest.raises(ValueError, match=r'expected reg_loss .* got shape \(19,\) instead'):
        plot_training(steps, data_loss, reg_loss[1:])
    with pytest.raises(ValueError, match=r'expected val_acc .* instead'):
        plot_training(steps, data_loss, reg_loss, val_acc[:3])
    with pytest.raises(ValueError, match=r'expected steps .* instead'):
        plot_training([], [], [])


# --- show_mean_image ----------------------------------------------------------------

def test_show_mean_image_with_caption():
    mean = np.random.default_rng(0).uniform(90, 140, size=(32, 32, 3))
    fig = show_mean_image(mean)
    assert isinstance(fig, Figure) and num_images(fig) == 1
    img = fig.axes[0].get_images()[0].get_array()
    assert img.dtype == np.uint8 and np.array_equal(img, np.rint(mean).astype(np.uint8))
    caption = ' '.join(t.get_text() for t in fig.texts).replace('\n', ' ')
    assert 'average of all training images' in caption
    assert 'every pixel and colour channel' in caption
    assert 'subtracted from every image' in caption
    flat = show_mean_image(mean.ravel()).axes[0].get_images()[0].get_array()
    assert np.array_equal(flat, img)
    # The notebooks leave the caption to their text (translated in the Korean edition).
    assert show_mean_image(mean, caption=False).texts == []


def test_show_mean_image_rejects_bad_input():
    with pytest.raises(ValueError, match=r'expected mean_image of shape .* got \(32, 32\) instead'):
        show_mean_image(np.zeros((32, 32)))
    with pytest.raises(ValueError, match='expected finite pixel values'):
        show_mean_image(np.full((32, 32, 3), np.nan))


# --- plot_hyperparameter_results ----------------------------------------------------

def search_results():
    """A grid with good runs, and diverged runs that would stretch a colour scale."""
    results = {(lr, reg): (0.30 + 0.02 * i + 0.01 * j, 0.28 + 0.02 * i + 0.01 * j)
               for i, lr in enumerate((1e-7, 5e-7, 1e-6)) for j, reg in enumerate((1e3, 1e4))}
    results[(1e-5, 1e3)] = (float('nan'), float('nan'))  # overflowed
    results[(1e-5, 1e4)] = (0.1, 0.087)                  # at and below chance
    results[(2e-5, 1e4)] = (0.12, 0.13)                  # near chance: did not learn either
    results[(5e-5, 1e4)] = (float('inf'), 0.02)
    return results


def panels(fig):
    return [ax for ax in fig.axes if ax.get_xlabel() == 'log10 learning rate']


def crosses(ax):
    """(x, y) of the grey crosses drawn in ax."""
    points = [np.column_stack([line.get_xdata(), line.get_ydata()])
              for line in ax.lines if line.get_marker() == 'x']
    assert all(line.get_color() == 'grey' for line in ax.lines if line.get_marker() == 'x')
    return np.concatenate(points) if points else np.empty((0, 2))


def as_set(points):
    return {(round(float(x), 6), round(float(y), 6)) for x, y in points}


def test_hyperparameter_plot_has_two_panels_and_one_colorbar():
    fig = plot_hyperparameter_results(search_results())
    assert isinstance(fig, Figure)
    training, validation = panels(fig)
    assert 'training' in training.get_title() and 'validation' in validation.get_title()
    assert training.get_ylabel() == 'log10 regularization strength'
    assert len(fig.axes) == 3  # the two panels and ONE colorbar


def test_hyperparameter_plot_one_shared_clipped_colour_scale():
    results = search_results()
    fig = plot_hyperparameter_results(results)
    coloured = [ax.collections for ax in panels(fig)]
    assert all(len(c) == 1 for c in coloured)
    train_norm, val_norm = coloured[0][0].norm, coloured[1][0].norm
    assert train_norm is val_norm  # one scale: equal colours mean equal accuracies
    colorbar = [ax for ax in fig.axes if ax not in panels(fig)][0]
    assert colorbar._colorbar.mappable.norm is train_norm
    # From the worst to the best accuracy of the runs that learned, in either panel: neither
    # chance nor the diverged 0.02 and 0.087 runs stretch it, so the good runs differ in colour.
    learned = [a for pair in results.values() for a in pair if np.isfinite(a) and a > 0.15]
    assert train_norm.vmin == pytest.approx(min(learned)) == pytest.approx(0.28)
    assert train_norm.vmax == pytest.approx(max(learned))
    assert train_norm.clip


def test_hyperparameter_plot_points_and_grey_crosses():
    results = search_results()
    fig = plot_hyperparameter_results(results)
    for col, ax in enumerate(panels(fig)):
        good = {(math.log10(lr), math.log10(reg)) for (lr, reg), accs in results.items()
                if np.isfinite(accs[col]) and accs[col] > 0.15}
        bad = {(math.log10(lr), math.log10(reg)) for (lr, reg), accs in results.items()
               if not (np.isfinite(accs[col]) and accs[col] > 0.15)}
        assert as_set(ax.collections[0].get_offsets()) == as_set(good)  # coloured
        assert as_set(crosses(ax)) == as_set(bad)                       # grey, not coloured
    training, validation = panels(fig)
    # (1e-5, 1e4): train 0.1 is at chance and val 0.087 below it; (2e-5, 1e4) stays near
    # chance; (5e-5, 1e4) has an inf training accuracy.
    assert len(crosses(training)) == 4 and len(crosses(validation)) == 4


def test_hyperparameter_plot_labels_every_point_with_its_value():
    results = search_results()
    fig = plot_hyperparameter_results(results)
    for col, ax in enumerate(panels(fig)):
        texts = sorted(t.get_text() for t in ax.texts)
        assert texts == sorted('%.3f' % accs[col] for accs in results.values())
    assert '0.350' in [t.get_text() for t in panels(fig)[0].texts]  # lr 1e-6, reg 1e4
    assert 'nan' in [t.get_text() for t in panels(fig)[1].texts]


def test_hyperparameter_plot_circles_best_validation_run():
    fig = plot_hyperparameter_results(search_results())
    for ax in panels(fig):
        circles = [line for line in ax.lines if line.get_marker() == 'o']
        assert len(circles) == 1
        assert (circles[0].get_xdata()[0], circles[0].get_ydata()[0]) == \
            pytest.approx((-6.0, 4.0))  # val 0.33 at lr 1e-6, reg 1e4


def test_hyperparameter_plot_marks_a_run_the_same_in_both_panels():
    # Each of these runs learned in one panel only: decided once per run, each is a grey
    # cross in both panels, stretches no colour scale and is never the best run.
    results = {(1e-7, 1e3): (0.30, 0.28), (1e-6, 1e3): (0.36, 0.34),
               (1e-5, 1e3): (0.45, float('nan')),   # validation diverged
               (2e-5, 1e3): (0.12, 0.40),            # training near chance
               (5e-5, 1e3): (float('inf'), 0.50)}
    fig = plot_hyperparameter_results(results)
    did_not_learn = as_set([(-5, 3), (math.log10(2e-5), 3), (math.log10(5e-5), 3)])
    for ax in panels(fig):
        assert as_set(crosses(ax)) == did_not_learn
        assert as_set(ax.collections[0].get_offsets()) == as_set([(-7, 3), (-6, 3)])
        assert ax.collections[0].norm.vmin == pytest.approx(0.28)
        assert ax.collections[0].norm.vmax == pytest.approx(0.36)
        circles = [line for line in ax.lines if line.get_marker() == 'o']
        assert [(c.get_xdata()[0], c.get_ydata()[0]) for c in circles] == [pytest.approx((-6, 3))]


def test_hyperparameter_plot_chance_sets_what_counts_as_diverged():
    results = {(1e-7, 1e3): (0.15, 0.15), (1e-6, 1e3): (0.40, 0.35)}
    fig = plot_hyperparameter_results(results, chance=0.2)
    for ax in panels(fig):
        assert as_set(crosses(ax)) == as_set([(-7, 3)])
        assert ax.collections[0].norm.vmin == pytest.approx(0.35)  # the worst run that learned


def test_hyperparameter_plot_all_runs_diverged():
    fig = plot_hyperparameter_results({(1e-3, 1e3): (float('nan'), float('nan'))})
    for ax in panels(fig):
        assert len(crosses(ax)) == 1 and len(ax.collections[0].get_offsets()) == 0
        assert not [line for line in ax.lines if line.get_marker() == 'o']  # no best run


def test_hyperparameter_plot_with_zero_reg():
    fig = plot_hyperparameter_results({(1e-7, 0.0): (0.3, 0.3), (1e-6, 1e3): (0.35, 0.32)})
    ax = panels(fig)[0]
    # log10(0) does not exist: reg 0 sits one decade below the smallest other reg.
    assert as_set(ax.collections[0].get_offsets()) == as_set([(-7, 2), (-6, 3)])
    labels = dict(zip(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()]))
    assert labels[2.0] == 'reg = 0'


@pytest.mark.parametrize('results, chance, message', [
    ({}, 0.1, 'expected a non-empty dict'),
    ({1e-7: (0.3, 0.2)}, 0.1, 'expected results to map'),
    ({(1e-7, 1e4): 0.3}, 0.1, 'expected each entry'),
    ({(1e-7, 1e4): (0.3, 0.2, 0.1)}, 0.1, 'expected each entry'),
    ({(1e-7, 1e4): (37.2, 35.0)}, 0.1, 'expected accuracies between 0 and 1'),
    ({(0.0, 1e4): (0.3, 0.2)}, 0.1, 'expected every learning rate to be positive'),
    ({(1e-7, -1.0): (0.3, 0.2)}, 0.1, 'expected every regularization strength'),
    ({(1e-7, 1e4): (0.3, 0.2)}, 10, 'expected chance to be a number in'),
])
def test_plot_hyperparameter_results_rejects_bad_input(results, chance, message):
    with pytest.raises(ValueError, match=message + '.* got .* instead'):
        plot_hyperparameter_results(results, chance=chance)


# --- show_weights -------------------------------------------------------------------

def grid_shape(fig):
    return {ax.get_subplotspec().get_geometry()[:2] for ax in fig.axes}


@pytest.mark.parametrize('rows', [3073, 3072])
def test_show_weights_grid_of_two_rows(rows):
    W = np.random.default_rng(0).standard_normal((rows, 10)) * 1e-3
    fig = show_weights(W, CLASS_NAMES)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 10 and num_images(fig) == 10
    assert grid_shape(fig) == {(2, 5)}
    tops = sorted({round(ax.get_position().y1, 6) for ax in fig.axes})
    assert len(tops) == 2  # two rows of five
    assert [ax.get_title() for ax in fig.axes] == CLASS_NAMES


def test_show_weights_scales_each_template_to_its_own_range():
    # The same pattern at weights 1000 times apart: drawn identically, each 0..255.
    pattern = np.random.default_rng(1).standard_normal(3072)
    W = np.column_stack([pattern * 10.0 ** (c - 5) for c in range(10)])
    fig = show_weights(W, CLASS_NAMES)
    images = [ax.get_images()[0].get_array() for ax in fig.axes]
    for img in images:
        assert img.shape == (32, 32, 3) and img.min() == 0 and img.max() == 255
        assert np.abs(img.astype(int) - images[0].astype(int)).max() <= 1
    caption = ' '.join(t.get_text() for t in fig.texts).replace('\n', ' ')
    assert 'scaled to its own range' in caption
    assert show_weights(W, CLASS_NAMES, caption=False).texts == []


def test_show_weights_short_last_row():
    W = np.random.default_rng(0).standard_normal((3073, 7))
    fig = show_weights(W, CLASS_NAMES[:7])
    assert len(fig.axes) == 7 and grid_shape(fig) == {(2, 5)}
    assert grid_shape(show_weights(W[:, :3], CLASS_NAMES[:3])) == {(1, 3)}


def test_show_weights_rejects_bad_input():
    with pytest.raises(ValueError, match=r'expected W of shape \(3073, 10\) or \(3072, 10\), '
                                         r'got \(10, 3073\) instead'):
        show_weights(np.zeros((10, 3073)), CLASS_NAMES)
    with pytest.raises(ValueError, match='expected finite weights, got nan or inf'):
        show_weights(np.full((3073, 10), np.nan), CLASS_NAMES)


# --- template_correlation -----------------------------------------------------------

def direct_correlation(W, X, y):
    """Each class's mean image minus the mean of all images, and the Pearson
    formula, written out without vis_utils code."""
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    overall = sum(X) / len(X)
    out = []
    for c in range(W.shape[1]):
        rows = [X[i] for i in range(len(y)) if y[i] == c]
        mean = sum(rows) / len(rows) - overall
        w = W[:3072, c]
        dw, dm = w - w.sum() / w.size, mean - mean.sum() / mean.size
        out.append((dw * dm).sum() / math.sqrt((dw * dw).sum() * (dm * dm).sum()))
    return np.array(out)


def centred_class_means(X, y, num_classes):
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    return np.column_stack([X[y == c].mean(axis=0) - X.mean(axis=0)
                            for c in range(num_classes)])


def test_template_correlation_matches_direct_computation():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, size=(50, 32, 32, 3)).astype(np.uint8)
    y = np.arange(50) % 5
    W = rng.standard_normal((3073, 5))
    W[:3072] += centred_class_means(X, y, 5) * np.linspace(0.0, 0.1, 5)  # none .. strong
    corr = template_correlation(W, X, y)
    assert corr.shape == (5,) and corr.dtype == np.float64
    assert np.allclose(corr, direct_correlation(W, X, y), atol=1e-12)
    assert np.all(np.diff(corr) > 0)  # more of the class template: higher correlation
    # Rows instead of images, and W without its bias row: the same numbers.
    assert np.allclose(template_correlation(W[:3072], X.reshape(50, 3072), y), corr)


@pytest.fixture(scope='module')
def real_batch(cifar10_dir):
    from utils.data_utils import load_CIFAR_batch
    return load_CIFAR_batch(cifar10_dir + '/data_batch_1')


def test_template_correlation_planted_on_real_images(real_batch):
    X, y = real_batch
    templates = centred_class_means(X, y, 10)
    # Weights that ARE the class templates (any positive scale and offset, any bias): 1.
    W = np.vstack([templates * np.linspace(1e-4, 1e-2, 10) - 0.3, np.arange(10.0)])
    assert np.allclose(template_correlation(W, X, y), 1.0, atol=1e-12)
    # Each class paired with ITS template: the same templates in the wrong columns
    # are far from 1.
    assert np.all(template_correlation(np.roll(templates, 1, axis=1), X, y) < 0.9)
    # Noise (what an untrained or barely trained model shows): about 0.
    noise = np.random.default_rng(0).standard_normal((3073, 10)) * 1e-3
    corr = template_correlation(noise, X, y)
    assert np.all(np.abs(corr) < 0.1) and abs(np.median(corr)) < 0.05
    assert np.allclose(corr, direct_correlation(noise, X, y), atol=1e-12)


def test_template_correlation_same_for_raw_and_mean_subtracted_images(real_batch):
    # The notebooks hold the mean-subtracted rows; the number must not depend on
    # which of the two a caller passes.
    X, y = real_batch
    rows = X.reshape(len(X), -1)
    W = np.vstack([centred_class_means(X, y, 10), np.zeros(10)])
    W[:3072] += np.random.default_rng(1).standard_normal((3072, 10)) * W[:3072].std(axis=0)
    raw = template_correlation(W, X, y)
    assert np.allclose(raw, 1 / math.sqrt(2), atol=0.05)  # template + equal noise
    assert np.allclose(template_correlation(W, rows - rows.mean(axis=0), y), raw, atol=1e-9)


def test_template_correlation_constant_weights_give_nan():
    X = np.random.default_rng(0).uniform(0, 255, size=(4, 3072))
    corr = template_correlation(np.zeros((3073, 2)), X, np.array([0, 1, 0, 1]))
    assert np.isnan(corr).all()


@pytest.mark.parametrize('W_shape, X_shape, y, message', [
    ((10, 3073), (4, 3072), [0, 1, 0, 1], r'expected W of shape \(3073, C\) or \(3072, C\)'),
    ((3073, 2), (4, 3073), [0, 1, 0, 1],
     r'expected X_raw of shape \(N, 32, 32, 3\) or \(N, 3072\)'),
    ((3073, 2), (4, 3072), [0, 1, 0], r'expected y of shape \(4,\)'),
    ((3073, 2), (4, 3072), [0, 1, 2, 1], r'expected labels in \[0, 2\)'),
    ((3073, 2), (4, 3072), [0.5, 1, 0, 1], r'expected integer class labels'),
    ((3073, 3), (4, 3072), [0, 1, 0, 1], r'expected at least one image of each of the 3'),
])
def test_template_correlation_rejects_bad_input(W_shape, X_shape, y, message):
    with pytest.raises(ValueError, match=message + '.* got .* instead'):
        template_correlation(np.ones(W_shape), np.ones(X_shape), np.array(y))
