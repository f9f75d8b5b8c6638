"""Multiclass SVM (hinge) loss: a naive version with loops and a vectorized one.

Shapes used throughout: N examples, each of dimension D, and C classes.
"""
import numpy as np


def svm_loss_naive(W, X, y, reg):
    """
    Structured SVM loss function, naive implementation (with loops).

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
    dW = np.zeros(W.shape)  # initialize the gradient as zero

    # compute the loss and the gradient
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    #############################################################################
    # TODO:                                                                     #
    # Compute the SVM loss and its gradient with explicit loops over the        #
    # examples and the classes: the loss is the average of the hinge terms of   #
    # every example plus the regularization reg * sum(W * W), and dW is its     #
    # gradient with respect to W, which you derived in the notebook. Compute    #
    # the gradient in the same loops as the loss: the same comparisons decide   #
    # both. Loops are the point here; the vectorized version comes next.        #
    #############################################################################
    ### BEGIN SOLUTION
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1  # note delta = 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]

    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    ### END SOLUTION

    return loss, dW


def svm_loss_vectorized(W, X, y, reg):
    """
    Structured SVM loss function, vectorized implementation.

    Inputs and outputs are the same as svm_loss_naive.
    """
    loss = 0.0
    dW = np.zeros(W.shape)  # initialize the gradient as zero

    #############################################################################
    # TODO:                                                                     #
    # Compute the same loss and gradient as svm_loss_naive without any          #
    # explicit loop over the examples: whole-array numpy operations only, so    #
    # that the work runs in compiled code instead of the Python interpreter.    #
    # Store the loss in `loss` and the gradient in `dW`.                        #
    #############################################################################
    ### BEGIN SOLUTION
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X.dot(W)
    correct_class_scores = scores[rows, y][:, np.newaxis]
    margins = np.maximum(0.0, scores - correct_class_scores + 1.0)
    margins[rows, y] = 0.0
    loss = margins.sum() / num_train + reg * np.sum(W * W)

    # Each positive margin adds X[i] to column j and subtracts it from column y[i].
    coeff = (margins > 0).astype(X.dtype)
    coeff[rows, y] = -coeff.sum(axis=1)
    dW = X.T.dot(coeff) / num_train + 2 * reg * W
    ### END SOLUTION

    return loss, dW
