// The console's pages: {route, title, mount(el, params, ctx), nav} (nav: false keeps a page
// out of the nav bar). One line per view; app.js mounts the one the URL names.
import * as signin from './signin.js';
import * as overview from './overview.js';
import * as resources from './resources.js';
import * as resource from './resource.js';
import * as chart from './chart.js';
import * as alarms from './alarms.js';
import * as alarm from './alarm.js';
import * as dashboards from './dashboards.js';
import * as dashboard from './dashboard.js';

export default [
  {route: 'signin', title: 'Sign in', mount: signin.mount, nav: false},
  {route: 'overview', title: 'Overview', mount: overview.mount},
  {route: 'resources', title: 'Resources', mount: resources.mount},
  {route: 'resource', title: 'Resource', mount: resource.mount, nav: false},
  {route: 'chart', title: 'Charts', mount: chart.mount},
  {route: 'alarms', title: 'Alarms', mount: alarms.mount},
  {route: 'alarm', title: 'Alarm', mount: alarm.mount, nav: false},
  {route: 'dashboards', title: 'Dashboards', mount: dashboards.mount},
  {route: 'dashboard', title: 'Dashboard', mount: dashboard.mount, nav: false},
];
