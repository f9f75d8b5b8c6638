"""Watch a classifier learn: train it in pieces and record the two parts of its loss.

The total loss that `train` returns mixes the data loss with the regularization loss,
and early in training the regularization of the random initial weights dominates it, so
its curve mostly shows the weights shrinking. Recording the parts separately (and the
validation accuracy) shows the learning itself.
"""
import numpy as np


def record_training(model, X_train, y_train, X_probe, y_probe, X_val, y_val, *,
                    learning_rate, reg, num_iters, every=100):
    """
    Train `model` for num_iters steps, `every` steps at a time, recording after each piece.

    `train` continues from the model's current weights, so training in pieces takes the
    same steps as one call with num_iters.

    Inputs:
    - model: a LinearClassifier (LinearSVM or Softmax), trained in place.
    - X_train, y_train: the training data, (N, D) and (N,).
    - X_probe, y_probe: a fixed sample of training data on which the data loss is measured.
    - X_val, y_val: validation data for the accuracy.
    - learning_rate, reg, num_iters: as for train().
    - every: steps between two records.

    Returns:
    - a dict of lists: 'steps', 'data_loss' (loss with reg = 0 on the probe sample),
      'reg_loss' (reg * sum(W**2)), 'val_acc', and 'loss_history' (what train() returned).
    """
    if num_iters < every or every < 1:
        raise ValueError("expected num_iters >= every >= 1, got num_iters = %r and every = %r instead"
                         % (num_iters, every))
    record = {'steps': [], 'data_loss': [], 'reg_loss': [], 'val_acc': [], 'loss_history': []}
    for done in range(every, num_iters + 1, every):
        record['loss_history'] += list(model.train(X_train, y_train, learning_rate=learning_rate,
                                                   reg=reg, num_iters=every))
        record['steps'].append(done)
        record['data_loss'].append(float(model.loss(X_probe, y_probe, 0.0)[0]))
        record['reg_loss'].append(float(reg * np.sum(model.W * model.W)))
        record['val_acc'].append(float(np.mean(model.predict(X_val) == y_val)))
    return record
