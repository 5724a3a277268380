import { createRouter, createWebHistory } from 'vue-router'
import { session, loadSession } from './api.js'
import Login from './pages/Login.vue'
import Layout from './pages/Layout.vue'
import Dashboard from './pages/Dashboard.vue'
import Repairs from './pages/Repairs.vue'
import Leads from './pages/Leads.vue'
import Referrals from './pages/Referrals.vue'
import Notifications from './pages/Notifications.vue'
import Settings from './pages/Settings.vue'
import Staff from './pages/Staff.vue'
import Audit from './pages/Audit.vue'
import Exports from './pages/Exports.vue'
import Surveys from './pages/Surveys.vue'
import Complaints from './pages/Complaints.vue'
import Followups from './pages/Followups.vue'
import ServiceDesk from './pages/ServiceDesk.vue'

// The side menu's pages, in the order the menu shows them.
export const MENU = [
  { path: 'dashboard', title: '工作台', component: Dashboard },
  { path: 'repairs', title: '报修工单', component: Repairs },
  { path: 'complaints', title: '投诉建议', component: Complaints },
  { path: 'followups', title: '回访', component: Followups },
  { path: 'leads', title: '线索', component: Leads },
  { path: 'referrals', title: '推荐与奖励', component: Referrals },
  { path: 'surveys', title: '问卷', component: Surveys },
  { path: 'notifications', title: '通知', component: Notifications },
  { path: 'settings', title: '配置', component: Settings },
  { path: 'staff', title: '员工', component: Staff },
  { path: 'audit', title: '审计日志', component: Audit },
  { path: 'exports', title: '导出记录', component: Exports },
  // 客服 (service), supervisors and admins: the API refuses anyone else.
  { path: 'service-desk', title: '客服工作台', component: ServiceDesk, roles: ['service', 'supervisor', 'admin'] },
]

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    { path: '/login', name: 'login', component: Login, meta: { public: true } },
    {
      path: '/',
      component: Layout,
      redirect: '/dashboard',
      children: MENU.map((m) => ({ path: m.path, name: m.path, component: m.component, meta: { title: m.title } })),
    },
    { path: '/:rest(.*)*', redirect: '/dashboard' },
  ],
})

router.beforeEach(async (to) => {
  if (!session.loaded) await loadSession()
  if (!to.meta.public && !session.user) return { name: 'login', query: to.fullPath !== '/dashboard' ? { next: to.fullPath } : {} }
  if (to.name === 'login' && session.user) return { path: '/dashboard' }
  return true
})
