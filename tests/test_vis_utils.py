"""Tests for utils/vis_utils.py with the Agg backend (set in conftest.py)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from utils.data_utils import CLASS_NAMES
from utils.vis_utils import (plot_hyperparameter_results, plot_loss, show_samples,
                             show_weights)


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


def test_plot_hyperparameter_results():
    results = {(lr, reg): (0.3 + lr * 1e6, 0.28 + reg * 1e-6)
               for lr in (1e-7, 5e-7) for reg in (2.5e4, 5e4)}
    fig = plot_hyperparameter_results(results)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4  # training and validation plots with their colorbars
    plots = [ax for ax in fig.axes if ax.get_xlabel() == 'learning rate']
    assert len(plots) == 2
    assert all(ax.get_xscale() == 'log' and ax.get_yscale() == 'log' for ax in plots)
    assert 'validation' in plots[1].get_title()


def test_plot_hyperparameter_results_with_zero_reg():
    fig = plot_hyperparameter_results({(1e-7, 0.0): (0.3, 0.3), (1e-6, 1e3): (0.35, 0.32)})
    plots = [ax for ax in fig.axes if ax.get_xlabel() == 'learning rate']
    assert plots[0].get_yscale() == 'symlog'


def test_plot_hyperparameter_results_rejects_bad_input():
    with pytest.raises(ValueError):
        plot_hyperparameter_results({})
    with pytest.raises(ValueError):
        plot_hyperparameter_results({(1e-7, 1e4): 0.3})


@pytest.mark.parametrize('rows', [3073, 3072])
def test_show_weights(rows):
    W = np.random.default_rng(0).standard_normal((rows, 10)) * 1e-3
    fig = show_weights(W, CLASS_NAMES)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 10 and num_images(fig) == 10
    img = fig.axes[0].get_images()[0].get_array()
    assert img.shape == (32, 32, 3) and img.min() == 0 and img.max() == 255
    assert [ax.get_title() for ax in fig.axes] == CLASS_NAMES


def test_show_weights_rejects_wrong_shape():
    with pytest.raises(ValueError, match='3073'):
        show_weights(np.zeros((10, 3073)), CLASS_NAMES)
