package io.dfly.scheduler.resource;

/**
 * The last few samples of a cost, with their mean and standard deviation kept up to date as
 * samples come and go, so judging a new sample is O(1).
 */
public final class CostWindow {
  private final double[] samples;
  private int next;
  private int size;
  private double sum;
  private double sumOfSquares;

  public CostWindow(int capacity) {
    samples = new double[capacity];
  }

  public void add(double sample) {
    if (size == samples.length) {
      double old = samples[next];
      sum -= old;
      sumOfSquares -= old * old;
    } else {
      size++;
    }
    samples[next] = sample;
    next = (next + 1) % samples.length;
    sum += sample;
    sumOfSquares += sample * sample;
  }

  public int size() {
    return size;
  }

  /** The mean, or NaN without samples. */
  public double mean() {
    return size == 0 ? Double.NaN : sum / size;
  }

  public double standardDeviation() {
    if (size == 0) {
      return Double.NaN;
    }
    double mean = sum / size;
    return Math.sqrt(Math.max(0, sumOfSquares / size - mean * mean));
  }
}
