using AttnScope.Analyses.Flow;

namespace AttnScope.Tests.Analyses;

/// <summary>Attention flow's max-flow values against an independent Edmonds–Karp, hand-computed cases and minimum cuts.</summary>
public class FlowMaxFlowTests
{
    /// <summary>Random [layers, n, n] capacities: dense rows, rows with zeros, near-one-hot rows; normalised or not.</summary>
    internal static double[] RandomMatrices(Random rng, int layers, int n)
    {
        var m = new double[layers * n * n];
        for (int row = 0; row < layers * n; row++)
        {
            var r = m.AsSpan(row * n, n);
            switch (rng.Next(4))
            {
                case 0:
                    for (int j = 0; j < n; j++) r[j] = rng.NextDouble();
                    break;
                case 1:
                    for (int j = 0; j < n; j++) r[j] = rng.Next(5) < 2 ? 0 : rng.NextDouble();
                    break;
                case 2:
                    for (int j = 0; j < n; j++) r[j] = rng.Next(2) == 0 ? 0 : rng.NextDouble() * 1e-6;
                    r[rng.Next(n)] = 1 - rng.NextDouble() * 1e-5;
                    break;
                default:
                    for (int j = 0; j < n; j++) r[j] = Math.Exp(rng.NextDouble() * 6);
                    break;
            }
            if (rng.Next(3) > 0)
            {
                double sum = 0;
                foreach (var v in r) sum += v;
                if (sum > 0) for (int j = 0; j < n; j++) r[j] /= sum;
            }
        }
        return m;
    }

    [Fact]
    public void AgreesWithEdmondsKarpOnRandomSmallGraphs()
    {
        var rng = new Random(6);
        int pairs = 0;
        for (int g = 0; g < 250; g++)
        {
            int layers = rng.Next(1, 5), n = rng.Next(2, 10);
            var m = RandomMatrices(rng, layers, n);
            var flows = AttentionFlow.MaxFlows(m, layers, n, threads: 1 + g % 2);
            var reference = new FlowReference(m, layers, n);
            for (int s = 0; s < n; s++)
                for (int t = 0; t < n; t++, pairs++)
                {
                    double want = reference.MaxFlow(s, t);
                    Assert.True(Math.Abs(flows[s * n + t] - want) <= 1e-9,
                        $"graph {g} ({layers} layers, {n} tokens), {s} → {t}: {flows[s * n + t]:R} vs Edmonds–Karp {want:R}");
                }
        }
        Assert.True(pairs > 5000);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(int.MaxValue)]
    public void AgreesWhateverTheGlobalRelabelPeriod(int period)
    {
        // Period 1 relabels globally after every relabel; int.MaxValue only when the sink changes, so that local
        // relabels and the gap heuristic do the work.
        var rng = new Random(60 + period % 7);
        for (int g = 0; g < 60; g++)
        {
            int layers = rng.Next(2, 6), n = rng.Next(3, 10);
            var m = RandomMatrices(rng, layers, n);
            var solver = new FlowSolver(FlowNetwork.From(m, layers, n)) { GlobalRelabelPeriod = period };
            var reference = new FlowReference(m, layers, n);
            var row = new double[n];
            for (int s = 0; s < n; s++)
            {
                solver.SolveSource(s, row);
                for (int t = 0; t < n; t++)
                    Assert.Equal(reference.MaxFlow(s, t), row[t], 9);
            }
        }
    }

    [Fact]
    public void RealisticTwelveLayersAgreeWithEdmondsKarp()
    {
        // Softmax rows with two heavy "sink" columns, plus the residual, as BERT-like attention looks.
        int layers = 12, n = 11;
        var m = SoftmaxWithSinks(new Random(12), layers, n);
        var flows = AttentionFlow.MaxFlows(m, layers, n);
        var reference = new FlowReference(m, layers, n);
        for (int s = 0; s < n; s++)
            for (int t = 0; t < n; t++)
                Assert.Equal(reference.MaxFlow(s, t), flows[s * n + t], 9);
    }

    internal static double[] SoftmaxWithSinks(Random rng, int layers, int n)
    {
        var m = new double[layers * n * n];
        for (int row = 0; row < layers * n; row++)
        {
            int i = row % n;
            var r = m.AsSpan(row * n, n);
            double sum = 0;
            for (int j = 0; j < n; j++)
            {
                double score = rng.NextDouble() * 2 + (j == 0 || j == n - 1 ? 3 : 0) + (j == i - 1 ? 2 : 0);
                sum += r[j] = Math.Exp(score);
            }
            for (int j = 0; j < n; j++) r[j] /= sum;
            r[i] += 1;
            for (int j = 0; j < n; j++) r[j] /= 2;
        }
        return m;
    }

    [Fact]
    public void OneLayerFlowIsTheEdgeCapacity()
    {
        double[] m = [0.25, 0.75, 0.0, 0.6, 0.1, 0.3, 0.5, 0.5, 0.0];
        var flows = AttentionFlow.MaxFlows(m, 1, 3);
        Assert.Equal(m, flows);
    }

    [Fact]
    public void TwoLayersTakeTheSmallerEndOfEachMiddlePath()
    {
        // Layer 0 (bottom) and layer 1 (top), 2 tokens. From top token 0: through middle token 0 min(0.5, 0.9) and
        // through middle token 1 min(0.5, 0.3), so 0.8 to input 0; to input 1: min(0.5, 0.1) + min(0.5, 0.7) = 0.6.
        // From top token 1: to input 0 min(0.2, 0.9) + min(0.8, 0.3) = 0.5; to input 1 min(0.2, 0.1) + min(0.8, 0.7) = 0.8.
        double[] m = [0.9, 0.1, 0.3, 0.7, 0.5, 0.5, 0.2, 0.8];
        var flows = AttentionFlow.MaxFlows(m, 2, 2);
        Assert.Equal(new[] { 0.8, 0.6, 0.5, 0.8 }, flows.Select(v => Math.Round(v, 12)).ToArray());
    }

    [Fact]
    public void ThreeLayersAreLimitedByTheNarrowMiddleEdge()
    {
        // Top token 0 splits 0.5 / 0.5 into level 2; level 2 → level 1 only straight down, token 1's edge holding 0.1;
        // bottom: level-1 token 0 sends 0.3 to input 0 and 0.7 to input 1, token 1 sends 1 to input 0.
        // To input 0: 0.3 via token 0 + 0.1 via token 1 = 0.4. To input 1: min(0.5, 1, 0.7) via token 0 = 0.5.
        double[] m =
        [
            0.3, 0.7, 1.0, 0.0, // layer 0
            1.0, 0.0, 0.0, 0.1, // layer 1
            0.5, 0.5, 0.5, 0.5, // layer 2
        ];
        var flows = AttentionFlow.MaxFlows(m, 3, 2);
        Assert.Equal(0.4, flows[0], 12);
        Assert.Equal(0.5, flows[1], 12);
    }

    [Fact]
    public void DisconnectedPairsHaveNoFlow()
    {
        // Every layer the identity: token i only reaches itself.
        int n = 4, layers = 3;
        var m = new double[layers * n * n];
        for (int l = 0; l < layers; l++) for (int i = 0; i < n; i++) m[(l * n + i) * n + i] = 1;
        var flows = AttentionFlow.MaxFlows(m, layers, n);
        for (int s = 0; s < n; s++)
            for (int t = 0; t < n; t++)
                Assert.Equal(s == t ? 1.0 : 0.0, flows[s * n + t], 12);
    }

    [Fact]
    public void MinimumCutEqualsMaximumFlow()
    {
        var rng = new Random(66);
        for (int g = 0; g < 80; g++)
        {
            int layers = rng.Next(1, 6), n = rng.Next(2, 10);
            var m = RandomMatrices(rng, layers, n);
            var network = FlowNetwork.From(m, layers, n);
            var solver = new FlowSolver(network);
            var peer = new ReferenceMaxFlow(network);
            var reference = new FlowReference(m, layers, n);
            int s = rng.Next(n), t = rng.Next(n);

            double flow = solver.SolvePair(s, t);
            var ours = solver.SinkSide(t);
            Assert.False(ours[reference.Top(s)]);
            Assert.True(ours[t]);
            Assert.Equal(flow, reference.CutCapacity(ours), 9);

            double peerFlow = peer.Solve(s, t);
            var peerSink = peer.SourceSide(s).Select(v => !v).ToArray();
            Assert.False(peerSink[reference.Top(s)]);
            Assert.True(peerSink[t]);
            Assert.Equal(peerFlow, reference.CutCapacity(peerSink), 9);

            double want = reference.MaxFlow(s, t);
            Assert.Equal(want, flow, 9);
            Assert.Equal(want, peerFlow, 9);
        }
    }

    [Fact]
    public void BadCapacitiesAreRefused()
    {
        var e = Assert.Throws<AttnScope.Capture.AttnScopeException>(() => AttentionFlow.MaxFlows([0.5, -0.1, 0.2, 0.3], 1, 2));
        Assert.Contains("[0, 1]", e.Message);
        Assert.Throws<AttnScope.Capture.AttnScopeException>(() => AttentionFlow.MaxFlows([0.5, double.NaN, 0.2, 0.3], 1, 2));
        var size = Assert.Throws<AttnScope.Capture.AttnScopeException>(() => AttentionFlow.MaxFlows(new double[7], 2, 2));
        Assert.Contains("2 layers of 2 × 2", size.Message);
        Assert.Throws<AttnScope.Capture.AttnScopeException>(() => AttentionFlow.MaxFlows(new float[0], 0, 2));
    }
}
