import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { assertProblem, GENERATIONS, startRealGateway, type RealGateway } from '../../gateway.js';

for (const { generation, libvirt } of GENERATIONS)
  describe(`/daemon/logging against a real libvirtd (${libvirt})`, () => {
    let gw: RealGateway;
    before(async () => {
      gw = await startRealGateway({}, generation);
    });
    after(() => gw?.close());

    // virt-admin prints " Logging outputs: <reply>" and " Logging filters: <reply>".
    const cliOutputs = async () => /Logging outputs: (.*)\n/.exec(await gw.virtAdmin('daemon-log-outputs'))![1]!;
    const cliFilters = async () => /Logging filters: (.*)\n/.exec(await gw.virtAdmin('daemon-log-filters'))![1]!;

    it('GET reports what virt-admin daemon-log-outputs and daemon-log-filters report', async () => {
      await gw.virtAdmin('daemon-log-filters', '--filters', '3:remote 4:event 1:+qemu');
      const res = await request(gw.app.server).get('/daemon/logging').expect(200);
      assert.equal(res.body.raw.outputs, await cliOutputs());
      assert.equal(res.body.raw.filters, await cliFilters());
      assert.equal(res.body.raw.filters, '3:*remote* 4:*event* 1:*qemu* ');
      assert.deepEqual(res.body.outputs, [
        { priority: 'warning', level: 3, destination: 'file', path: '/var/log/libvirt/libvirtd.log' },
      ]);
      assert.deepEqual(res.body.filters, [
        { priority: 'warning', level: 3, match: 'remote', stackTrace: false },
        { priority: 'error', level: 4, match: 'event', stackTrace: false },
        { priority: 'debug', level: 1, match: 'qemu', stackTrace: false },
      ]);
    });

    it('PUT with objects replaces both lists, as virt-admin then sees them', async () => {
      const res = await request(gw.app.server)
        .put('/daemon/logging')
        .send({
          outputs: [
            { priority: 'error', destination: 'stderr' },
            { level: 2, destination: 'syslog', ident: 'gateway-test' },
          ],
          filters: [{ priority: 'info', match: 'rpc' }],
        })
        .expect(200);
      assert.equal(await cliOutputs(), '4:stderr 2:syslog:gateway-test');
      assert.equal(await cliFilters(), '2:*rpc* ');
      assert.equal(res.body.raw.outputs, '4:stderr 2:syslog:gateway-test');
      assert.deepEqual(res.body.filters, [{ priority: 'info', level: 2, match: 'rpc', stackTrace: false }]);
    });

    it('PUT with raw strings sends them as given', async () => {
      await request(gw.app.server)
        .put('/daemon/logging')
        .send({ outputs: '3:stderr', filters: '1:util 4:*' })
        .expect(200);
      assert.equal(await cliOutputs(), '3:stderr');
      assert.equal(await cliFilters(), '1:*util* 4:*** ');
    });

    it('PUT needs both lists', async () => {
      assertProblem(
        await request(gw.app.server).put('/daemon/logging').send({ outputs: '3:stderr' }),
        400,
        'ERR_VALIDATION',
      );
    });

    it('PATCH changes the list given and keeps the other', async () => {
      await request(gw.app.server).put('/daemon/logging').send({ outputs: '3:stderr', filters: '' }).expect(200);
      await request(gw.app.server).patch('/daemon/logging').send({ filters: '2:remote' }).expect(200);
      assert.equal(await cliOutputs(), '3:stderr');
      assert.equal(await cliFilters(), '2:*remote* ');
      await request(gw.app.server)
        .patch('/daemon/logging')
        .send({ outputs: [{ priority: 'info', destination: 'stderr' }] })
        .expect(200);
      assert.equal(await cliOutputs(), '2:stderr');
      assert.equal(await cliFilters(), '2:*remote* ');
    });

    it('what GET returns can be sent back unchanged', async () => {
      const got = await request(gw.app.server).get('/daemon/logging').expect(200);
      const put = await request(gw.app.server)
        .put('/daemon/logging')
        .send({ outputs: got.body.outputs, filters: got.body.filters })
        .expect(200);
      assert.deepEqual(put.body, got.body);
    });

    it('empty lists restore the default output and remove every filter', async () => {
      const res = await request(gw.app.server).put('/daemon/logging').send({ outputs: [], filters: '' }).expect(200);
      assert.equal(await cliOutputs(), '3:file:/var/log/libvirt/libvirtd.log');
      assert.equal(await cliFilters(), '');
      assert.deepEqual(res.body.filters, []);
      assert.equal(res.body.raw.filters, '');
    });

    it("raw strings libvirt refuses are 400 in libvirt's words, as virt-admin shows them, and never reach the daemon", async () => {
      const outputs = await cliOutputs();
      const cases = [
        ['outputs', '3:bogus'],
        ['outputs', '9:stderr'],
        ['outputs', '3:file'],
        ['filters', 'remote'],
        ['filters', '7:remote'],
      ] as const;
      for (const [list, value] of cases) {
        const res = await request(gw.app.server)
          .patch('/daemon/logging')
          .send({ [list]: value });
        const body = assertProblem(res, 400, 'ERR_INVALID_ARGUMENT');
        const cli = await gw.daemons.virtAdmin('libvirtd', `daemon-log-${list}`, `--${list}`, value);
        assert.equal(cli.code, 1);
        assert.ok(cli.stderr.includes(`error: ${body.detail}`), `${cli.stderr} / ${body.detail}`);
        // The gateway reads every string as libvirt would before sending it: the daemon never saw this one.
        assert.equal(body.libvirt, undefined);
      }
      assert.equal(await cliOutputs(), outputs);
    });

    it("a file the daemon cannot open is 400 with libvirt's message", async () => {
      // Inside the allowed log directory (the security policy refuses anything else with 403), in a folder that is missing.
      const res = await request(gw.app.server)
        .patch('/daemon/logging')
        .send({ outputs: '1:file:/var/log/libvirt/nonexistent/x.log' });
      const body = assertProblem(res, 400, 'ERR_INVALID_ARGUMENT');
      assert.equal(body.detail, 'failed to open /var/log/libvirt/nonexistent/x.log: No such file or directory');
      assert.equal(body.libvirt?.code, 38);
    });

    it('a bad filter given with new outputs changes nothing', async () => {
      const [outputs, filters] = [await cliOutputs(), await cliFilters()];
      const res = await request(gw.app.server).put('/daemon/logging').send({ outputs: '1:stderr', filters: '2:a 5:b' });
      const body = assertProblem(res, 400, 'ERR_INVALID_ARGUMENT');
      assert.equal(body.detail, "invalid argument: Invalid priority '5' for filter '5:b'");
      assert.deepEqual([await cliOutputs(), await cliFilters()], [outputs, filters]);
    });

    it('objects that make no libvirt output are 400', async () => {
      const cases = [
        { outputs: [{ destination: 'file', priority: 'info' }] },
        { outputs: [{ destination: 'file', priority: 'info', path: 'relative.log' }] },
        { outputs: [{ destination: 'stderr', priority: 'info', path: '/x' }] },
        { outputs: [{ destination: 'stderr' }] },
        { outputs: [{ destination: 'stderr', priority: 'info', level: 3 }] },
        { filters: [{ priority: 'info', match: 'a b' }] },
      ];
      for (const body of cases) {
        assertProblem(await request(gw.app.server).patch('/daemon/logging').send(body), 400, 'ERR_INVALID_ARGUMENT');
      }
      for (const body of [{ outputs: [{ destination: 'carrier-pigeon', priority: 'info' }] }, { outputs: 3 }, {}]) {
        assertProblem(await request(gw.app.server).patch('/daemon/logging').send(body), 400, 'ERR_VALIDATION');
      }
    });

    it('outputs of blanks only are applied as virt-admin applies them: no output left, and GET still answers', async () => {
      const cli = await gw.daemons.virtAdmin('libvirtd', 'daemon-log-outputs', '--outputs', '  ');
      assert.equal(cli.code, 0, cli.stderr);
      await gw.virtAdmin('daemon-log-outputs', '--outputs', '3:stderr');

      const res = await request(gw.app.server).patch('/daemon/logging').send({ outputs: '  ' }).expect(200);
      assert.deepEqual(res.body.outputs, []);
      assert.equal(res.body.raw.outputs, '');
      // The daemon holds no output now: its own GET fails (virLogGetOutputs returns NULL for an empty list).
      const after = await gw.daemons.virtAdmin('libvirtd', 'daemon-log-outputs');
      assert.equal(after.code, 1);
      const get = await request(gw.app.server).get('/daemon/logging').expect(200);
      assert.deepEqual(get.body.outputs, []);
      assert.equal(get.body.raw.outputs, '');
      // And it can be left again: "" restores the default output.
      await request(gw.app.server).patch('/daemon/logging').send({ outputs: '' }).expect(200);
      assert.equal(await cliOutputs(), '3:file:/var/log/libvirt/libvirtd.log');
    });
  });
