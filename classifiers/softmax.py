"""Softmax (cross-entropy) loss: a naive version with loops and a vectorized one.

Shapes used throughout: N examples, each of dimension D, and C classes.
"""
import numpy as np


def softmax_loss_naive(W, X, y, reg):
    """
    Softmax loss function, naive implementation (with loops)

    Inputs:
    - W: A numpy array of shape (D, C) containing weights.
    - X: A numpy array of shape (N, D) containing a minibatch of data.
    - y: A numpy array of shape (N,) containing training labels; y[i] = c means
      that X[i] has label c, where 0 <= c < C.
    - reg: (float) regularization strength

    Returns a tuple of:
    - loss as single float
    - gradient with respect to weights W; an array of same shape as W
    """
    # Initialize the loss and gradient to zero.
    loss = 0.0
    dW = np.zeros_like(W)

    #############################################################################
    # TODO: Compute the softmax loss and its gradient using explicit loops.     #
    # The loss is the average over the examples of -log of the probability      #
    # given to the correct class, plus the regularization reg * sum(W * W);     #
    # dW is its gradient with respect to W, which you derived in the notebook.  #
    # Make it numerically stable: np.exp overflows for scores above about 709,  #
    # so compute the probabilities in a way that cannot overflow (the           #
    # notebook's section on numerical stability asks you to find one). Store    #
    # the loss in `loss` and the gradient in `dW`.                              #
    #############################################################################
    ### BEGIN SOLUTION
    num_train, num_classes = X.shape[0], W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        shifted = scores - np.max(scores)
        # log-sum-exp form: stays finite even when p[y[i]] underflows to 0.
        log_norm = np.log(np.sum(np.exp(shifted)))
        loss += log_norm - shifted[y[i]]
        probs = np.exp(shifted - log_norm)
        for j in range(num_classes):
            dW[:, j] += (probs[j] - (j == y[i])) * X[i]

    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    ### END SOLUTION

    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    """
    Softmax loss function, vectorized version.

    Inputs and outputs are the same as softmax_loss_naive.
    """
    # Initialize the loss and gradient to zero.
    loss = 0.0
    dW = np.zeros_like(W)

    #############################################################################
    # TODO: Compute the softmax loss and its gradient using no explicit loops.  #
    # The same loss and gradient as softmax_loss_naive, numerically stable in   #
    # the same way, with whole-array numpy operations instead of a loop over    #
    # the examples. Store the loss in `loss` and the gradient in `dW`.          #
    #############################################################################
    ### BEGIN SOLUTION
    num_train = X.shape[0]
    rows = np.arange(num_train)
    shifted = X.dot(W)
    shifted -= shifted.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    loss = np.sum(log_norm - shifted[rows, y]) / num_train + reg * np.sum(W * W)

    # Reuse the score buffer for the probabilities, then subtract the one-hot labels.
    probs = np.exp(shifted - log_norm[:, np.newaxis], out=shifted)
    probs[rows, y] -= 1.0
    dW = X.T.dot(probs) / num_train + 2 * reg * W
    ### END SOLUTION

    return loss, dW
